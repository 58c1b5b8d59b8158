using Service.Api.Infrastructure;
using Service.Contracts;
using Service.Inference.Chat;
using Service.Inference.Generation;

namespace Service.Api.Streaming;

/// <summary>
/// One chat completion on its way out: OpenAI's id and time, the started run, and its logging and
/// metrics. Started is the Stopwatch timestamp when the handler began, the origin of latency metrics.
/// </summary>
public sealed record ChatReply(string Id, long Created, long Started, ChatRun Run, ILogger Log)
{
    /// <summary>Logs the outcome of every choice (sizes and timings, never text) and records the request's metrics.</summary>
    public void Finished(IReadOnlyList<GenerationResult> choices)
    {
        for (int k = 0; k < choices.Count; k++)
        {
            var r = choices[k];
            Log.LogInformation("Chat {Id} choice {Choice}: {PromptTokens} prompt tokens ({DroppedTurns} old turns dropped), {CompletionTokens} generated, finish {Finish}, " +
                               "first token after {PrefillMs:0.0} ms, decode {DecodeMs:0.0} ms, crisis notice {Crisis}",
                Id, k, r.PromptTokens, Run.Chat.DroppedTurns, r.CompletionTokens, r.FinishReason, r.PrefillMs, r.DecodeMs, Run.Chat.Notices.CrisisNotice is not null);
        }
        if (choices.All(r => r.FinishReason != FinishReason.Cancelled))
            ServiceMetrics.RequestCompleted(ServiceMetrics.Tasks.Chat, Started, choices[0].PromptTokens, choices.Sum(r => r.CompletionTokens));
    }

    public static string FinishReasonName(GenerationResult r) => r.FinishReason == FinishReason.Stop ? "stop" : "length";

    /// <summary>As OpenAI counts n choices: the prompt once, the completion tokens of every choice together.</summary>
    public static ChatUsage Usage(IReadOnlyList<GenerationResult> choices)
    {
        int prompt = choices[0].PromptTokens, completion = choices.Sum(r => r.CompletionTokens);
        return new(prompt, completion, prompt + completion);
    }
}
