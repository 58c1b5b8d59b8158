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
    /// <summary>Logs the outcome (sizes and timings, never text) and records the request's metrics.</summary>
    public void Finished(GenerationResult r)
    {
        Log.LogInformation("Chat {Id}: {PromptTokens} prompt tokens ({DroppedTurns} old turns dropped), {CompletionTokens} generated, finish {Finish}, " +
                           "first token after {PrefillMs:0.0} ms, decode {DecodeMs:0.0} ms, crisis notice {Crisis}",
            Id, r.PromptTokens, Run.Chat.DroppedTurns, r.CompletionTokens, r.FinishReason, r.PrefillMs, r.DecodeMs, Run.Chat.Notices.CrisisNotice is not null);
        if (r.FinishReason != FinishReason.Cancelled)
            ServiceMetrics.RequestCompleted(ServiceMetrics.Tasks.Chat, Started, r.PromptTokens, r.CompletionTokens);
    }

    public static string FinishReasonName(GenerationResult r) => r.FinishReason == FinishReason.Stop ? "stop" : "length";

    public static ChatUsage Usage(GenerationResult r) => new(r.PromptTokens, r.CompletionTokens, r.PromptTokens + r.CompletionTokens);
}
