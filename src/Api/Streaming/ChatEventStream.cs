using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Service.Api.Errors;
using Service.Api.Infrastructure;
using Service.Contracts;
using Service.Inference.Generation;

namespace Service.Api.Streaming;

/// <summary>
/// The data of a streamed chat completion, as OpenAI sends it: per choice a first chunk with the role and the
/// notice preamble, one chunk per delta (each naming its choice's index), per choice a last chunk with its finish
/// reason, optionally the usage (completion tokens of all choices together), then `[DONE]`. ASP.NET Core's <c>TypedResults.ServerSentEvents</c> frames each string as `data: ...` and
/// a blank line, unchanged, which is what OpenAI's clients parse; the JSON is serialized here so that
/// `[DONE]` can follow it in the same stream.
/// </summary>
public static class ChatEventStream
{
    public static async IAsyncEnumerable<string> Events(ChatReply reply, bool includeUsage, [EnumeratorCancellation] CancellationToken cancellation)
    {
        var run = reply.Run;
        var notices = run.Chat.Notices;
        bool ended = false;
        try
        {
            for (int k = 0; k < run.Results.Count; k++)
            {
                yield return Chunk(reply, k, new ChatDelta(Role: "assistant", Content: ""), first: true);
                if (notices.Preamble.Length > 0) yield return Chunk(reply, k, new ChatDelta(Content: notices.Preamble));
            }
            long? previous = null;
            await foreach (var delta in run.Deltas.WithCancellation(cancellation))
            {
                if (previous is null) ServiceMetrics.FirstToken(ServiceMetrics.Tasks.Chat, reply.Started);
                else ServiceMetrics.NextToken(ServiceMetrics.Tasks.Chat, Stopwatch.GetElapsedTime(previous.Value));
                previous = Stopwatch.GetTimestamp();
                yield return Chunk(reply, delta.Index, new ChatDelta(Content: delta.Text));
            }
            var (results, failure) = await Outcome(Task.WhenAll(run.Results));
            ended = true;
            if (results is null)
            {
                // The status line is gone; OpenAI clients raise an error event as an APIError.
                reply.Log.LogError(failure, "Chat {Id}: generation failed mid-stream", reply.Id);
                yield return Json(ApiErrors.OpenAiEnvelope(500, "The model failed while generating; the error is logged with the request id.", null));
                yield break;
            }
            reply.Finished(results);
            for (int k = 0; k < results.Length; k++)
                yield return Chunk(reply, k, new ChatDelta(), ChatReply.FinishReasonName(results[k]));
            if (includeUsage)
                yield return Json(new ChatCompletionChunk(reply.Id, "chat.completion.chunk", reply.Created, run.Model, [], ChatReply.Usage(results)));
            yield return "[DONE]";
        }
        finally
        {
            if (!ended)
            {
                reply.Log.LogInformation("Chat {Id}: the client left; generation stops at the next step", reply.Id);
                _ = Task.WhenAll(run.Results).ContinueWith(t => reply.Finished(t.Result), TaskContinuationOptions.OnlyOnRanToCompletion);
            }
        }
    }

    /// <summary>The generation's results, or the error it failed with (an iterator cannot yield from a catch).</summary>
    static async Task<(GenerationResult[]? Results, Exception? Failure)> Outcome(Task<GenerationResult[]> job)
    {
        try
        {
            return (await job, null);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return (null, e);
        }
    }

    static string Chunk(ChatReply reply, int choice, ChatDelta delta, string? finish = null, bool first = false) =>
        Json(new ChatCompletionChunk(reply.Id, "chat.completion.chunk", reply.Created, reply.Run.Model,
            [new ChatChunkChoice(choice, delta, finish, first && reply.Run.Chat.Notices.CrisisNotice is not null ? true : null)],
            AiDisclosure: first && choice == 0 ? reply.Run.AiDisclosure : null));

    static string Json<T>(T payload) => JsonSerializer.Serialize(payload);
}
