using System.Diagnostics;
using System.Text.Json;
using System.Threading.Channels;
using Service.Api.Infrastructure;
using Service.Contracts;
using Service.Inference.Chat;
using Service.Inference.Generation;
using Service.Inference.Hosting;

namespace Service.Api.Endpoints;

/// <summary>
/// `POST /v1/chat/completions`, OpenAI-compatible. Generation joins the continuously batched decode of
/// <see cref="ChatScheduler"/> on the model host's thread; in streaming mode it pushes text deltas into a
/// channel that this handler turns into server-sent events, so no tensor and no dispose scope ever
/// meets an await. The request's abort token reaches the scheduler, which drops the sequence at its
/// next step when the client leaves.
/// Message text is never logged: only ids, sizes and timings.
/// </summary>
public static class ChatEndpoints
{
    public const string CrisisHeader = "X-Crisis-Notice";

    public static IEndpointRouteBuilder MapChatEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapPost("/v1/chat/completions", ChatCompletions)
            .WithName("ChatCompletions")
            .WithTags("Chat")
            .WithSummary("OpenAI-compatible chat completions; stream: true answers with server-sent events")
            .WithDescription("The conversation is written in the model's prompt format (Models:Chat:PromptFormat) and truncated to the input budget, oldest turns first. " +
                             "Errors use OpenAI's {\"error\": {message, type, param, code}} envelope. A crisis notice precedes the reply when a user message shows risk (header X-Crisis-Notice, choice field crisis_notice).")
            .Accepts<ChatCompletionRequest>("application/json")
            .Produces<ChatCompletion>(StatusCodes.Status200OK)
            .Produces<ChatCompletionChunk>(StatusCodes.Status200OK, "text/event-stream")
            .Produces<OpenAiErrorResponse>(StatusCodes.Status400BadRequest)
            .Produces<OpenAiErrorResponse>(StatusCodes.Status404NotFound)
            .Produces<OpenAiErrorResponse>(StatusCodes.Status429TooManyRequests)
            .Produces<OpenAiErrorResponse>(StatusCodes.Status503ServiceUnavailable)
            // No Host:RequestTimeoutSeconds here: a reply is bounded by max_tokens, streams may rightly run
            // long, and a departed client already stops the generation at its next step.
            .DisableRequestTimeout();
        return app;
    }

    // Started: the Stopwatch timestamp when the handler began, the origin of latency metrics.
    sealed record Reply(string Id, long Created, string Model, PreparedChat Chat, long Started);

    static async Task<IResult> ChatCompletions(ChatCompletionRequest request, ModelHost host, ChatScheduler scheduler, HttpContext context, ILoggerFactory logs)
    {
        var log = logs.CreateLogger("Service.Api.Chat");
        Reply reply;
        try
        {
            var engine = host.Models.Chat ?? throw new InferenceException(InferenceErrorKind.NotFound, "This service has no chat model loaded.", "model");
            CheckModel(request.Model, engine.Bundle.Name);
            if (request.N is not (null or 1))
                throw InferenceException.Invalid($"n must be 1; this service returns one choice per request (n was {request.N}).", "n");
            reply = new Reply($"chatcmpl-{Guid.NewGuid():N}", DateTimeOffset.UtcNow.ToUnixTimeSeconds(), engine.Bundle.Name, engine.Prepare(Query(request), context.RequestAborted),
                System.Diagnostics.Stopwatch.GetTimestamp());
        }
        catch (InferenceException e)
        {
            return ApiErrors.OpenAiError(context, e);
        }
        if (reply.Chat.Notices.CrisisNotice is not null) context.Response.Headers[CrisisHeader] = "true";
        if (request.Stream == true)
        {
            await Stream(context, host, scheduler, reply, request.StreamOptions?.IncludeUsage == true, log);
            return Results.Empty;
        }
        var cancellation = context.RequestAborted;
        GenerationResult result;
        try
        {
            result = await scheduler.SubmitAsync(reply.Chat, _ => { }, cancellation);
        }
        catch (InferenceException e)
        {
            return ApiErrors.OpenAiError(context, e);
        }
        catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
        {
            log.LogInformation("Chat {Id}: the client left before the reply was ready", reply.Id);
            return Results.Empty;
        }
        LogResult(log, reply, result);
        if (result.FinishReason == Inference.Generation.FinishReason.Cancelled) return Results.Empty; // nobody is listening
        Completed(reply, result);
        var notices = reply.Chat.Notices;
        return TypedResults.Ok(new ChatCompletion(reply.Id, "chat.completion", reply.Created, reply.Model,
            [new ChatChoice(0, new ChatReplyMessage("assistant", notices.Preamble + result.Text), FinishReason(result), notices.CrisisNotice is null ? null : true)],
            Usage(result), host.Models.Chat!.Options.Safety.AiDisclosure is { Length: > 0 } d ? d : null));
    }

    static async Task Stream(HttpContext context, ModelHost host, ChatScheduler scheduler, Reply reply, bool includeUsage, ILogger log)
    {
        var cancellation = context.RequestAborted;
        var deltas = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        Task<GenerationResult> job;
        try
        {
            job = scheduler.SubmitAsync(reply.Chat, delta => deltas.Writer.TryWrite(delta), cancellation);
        }
        catch (InferenceException e)
        {
            await ApiErrors.OpenAiError(context, e).ExecuteAsync(context);
            return;
        }
        // The reply's last delta is written before the job completes (both on the host thread).
        _ = job.ContinueWith(_ => deltas.Writer.TryComplete(), TaskScheduler.Default);

        var response = context.Response;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no"; // proxies must not buffer the stream
        var notices = reply.Chat.Notices;
        ChatCompletionChunk Chunk(ChatDelta delta, string? finish = null, bool first = false) =>
            new(reply.Id, "chat.completion.chunk", reply.Created, reply.Model,
                [new ChatChunkChoice(0, delta, finish, first && notices.CrisisNotice is not null ? true : null)],
                AiDisclosure: first ? host.Models.Chat!.Options.Safety.AiDisclosure is { Length: > 0 } d ? d : null : null);
        try
        {
            await Send(response, Chunk(new ChatDelta(Role: "assistant", Content: ""), first: true), cancellation);
            if (notices.Preamble.Length > 0) await Send(response, Chunk(new ChatDelta(Content: notices.Preamble)), cancellation);
            long? previous = null;
            await foreach (var delta in deltas.Reader.ReadAllAsync(cancellation))
            {
                if (previous is null) ServiceMetrics.FirstToken(ServiceMetrics.Tasks.Chat, reply.Started);
                else ServiceMetrics.NextToken(ServiceMetrics.Tasks.Chat, System.Diagnostics.Stopwatch.GetElapsedTime(previous.Value));
                previous = System.Diagnostics.Stopwatch.GetTimestamp();
                await Send(response, Chunk(new ChatDelta(Content: delta)), cancellation);
            }
            GenerationResult result;
            try
            {
                result = await job;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // The status line is gone; OpenAI clients raise an error event as an APIError.
                log.LogError(e, "Chat {Id}: generation failed mid-stream", reply.Id);
                await Send(response, ApiErrors.OpenAiEnvelope(500, "The model failed while generating; the error is logged with the request id.", null), cancellation);
                return;
            }
            LogResult(log, reply, result);
            Completed(reply, result);
            await Send(response, Chunk(new ChatDelta(), FinishReason(result)), cancellation);
            if (includeUsage)
                await Send(response, new ChatCompletionChunk(reply.Id, "chat.completion.chunk", reply.Created, reply.Model, [], Usage(result)), cancellation);
            await response.WriteAsync("data: [DONE]\n\n", cancellation);
            await response.Body.FlushAsync(cancellation);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException && cancellation.IsCancellationRequested)
        {
            log.LogInformation("Chat {Id}: the client left; generation stops at the next step", reply.Id);
            _ = job.ContinueWith(t => LogResult(log, reply, t.Result), TaskContinuationOptions.OnlyOnRanToCompletion);
        }
    }

    static async Task Send<T>(HttpResponse response, T payload, CancellationToken cancellation)
    {
        await response.WriteAsync($"data: {JsonSerializer.Serialize(payload)}\n\n", cancellation);
        await response.Body.FlushAsync(cancellation);
    }

    static void CheckModel(string? model, string served)
    {
        if (string.IsNullOrWhiteSpace(model))
            throw InferenceException.Invalid($"model is required; this service serves '{served}'.", "model");
        if (model != served)
            throw new InferenceException(InferenceErrorKind.NotFound, $"The model '{model}' does not exist here; this service serves '{served}' (see GET /v1/models).", "model");
    }

    static ChatQuery Query(ChatCompletionRequest r) => new(
        Messages(r.Messages),
        r.Temperature, r.TopP, r.MaxCompletionTokens ?? r.MaxTokens, r.Stop, r.Seed, r.TopK, r.RepetitionPenalty);

    static List<ChatMessage> Messages(IReadOnlyList<ChatCompletionMessage>? messages)
    {
        if (messages is null || messages.Count == 0)
            throw InferenceException.Invalid("messages is required: send at least one user message.", "messages");
        return [.. messages.Select((m, i) => new ChatMessage(
            m.Role switch
            {
                "system" or "developer" => ChatRole.System,
                "user" => ChatRole.User,
                "assistant" => ChatRole.Assistant,
                _ => throw InferenceException.Invalid($"messages[{i}].role must be system, user or assistant; it was '{m.Role}'.", "messages"),
            },
            m.Content ?? throw InferenceException.Invalid($"messages[{i}].content is required.", "messages")))];
    }

    static string FinishReason(GenerationResult r) => r.FinishReason == Inference.Generation.FinishReason.Stop ? "stop" : "length";

    static ChatUsage Usage(GenerationResult r) => new(r.PromptTokens, r.CompletionTokens, r.PromptTokens + r.CompletionTokens);

    static void Completed(Reply reply, GenerationResult result) =>
        ServiceMetrics.RequestCompleted(ServiceMetrics.Tasks.Chat, reply.Started, result.PromptTokens, result.CompletionTokens);

    static void LogResult(ILogger log, Reply reply, GenerationResult r) =>
        log.LogInformation("Chat {Id}: {PromptTokens} prompt tokens ({DroppedTurns} old turns dropped), {CompletionTokens} generated, finish {Finish}, " +
                           "first token after {PrefillMs:0.0} ms, decode {DecodeMs:0.0} ms, crisis notice {Crisis}",
            reply.Id, r.PromptTokens, reply.Chat.DroppedTurns, r.CompletionTokens, r.FinishReason, r.PrefillMs, r.DecodeMs, reply.Chat.Notices.CrisisNotice is not null);
}
