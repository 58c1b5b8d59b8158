using System.Diagnostics;
using Service.Api.Infrastructure;
using Service.Api.Streaming;
using Service.Contracts;
using Service.Inference.Chat;
using Service.Inference.Generation;

namespace Service.Api.Endpoints;

/// <summary>
/// `POST /v1/chat/completions`, OpenAI-compatible: DTO to <see cref="ChatInput"/>, <see cref="ChatService"/>,
/// then the reply as one JSON body or, with `stream: true`, as server-sent events (<see cref="ChatEventStream"/>).
/// Message text is never logged: only ids, sizes and timings.
/// </summary>
public static class ChatEndpoints
{
    public const string CrisisHeader = "X-Crisis-Notice";

    public static RouteGroupBuilder MapChatEndpoints(this RouteGroupBuilder v1)
    {
        v1.MapPost("/chat/completions", ChatCompletions)
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
        return v1;
    }

    static async Task<IResult> ChatCompletions(ChatCompletionRequest request, ChatService service, HttpContext context, ILoggerFactory logs)
    {
        var reply = new ChatReply($"chatcmpl-{Guid.NewGuid():N}", DateTimeOffset.UtcNow.ToUnixTimeSeconds(), Stopwatch.GetTimestamp(),
            service.Start(Input(request), request.Stream == true, context.RequestAborted), logs.CreateLogger("Service.Api.Chat"));
        if (reply.Run.Chat.Notices.CrisisNotice is not null) context.Response.Headers[CrisisHeader] = "true";
        if (request.Stream == true)
        {
            context.Response.Headers["X-Accel-Buffering"] = "no"; // proxies must not buffer the stream
            return TypedResults.ServerSentEvents(ChatEventStream.Events(reply, request.StreamOptions?.IncludeUsage == true, context.RequestAborted));
        }
        var results = await Task.WhenAll(reply.Run.Results);
        reply.Finished(results);
        if (results.Any(r => r.FinishReason == FinishReason.Cancelled)) return Results.Empty; // nobody is listening
        var notices = reply.Run.Chat.Notices;
        return TypedResults.Ok(new ChatCompletion(reply.Id, "chat.completion", reply.Created, reply.Run.Model,
            [.. results.Select((result, k) => new ChatChoice(k, new ChatReplyMessage("assistant", notices.Preamble + result.Text),
                ChatReply.FinishReasonName(result), notices.CrisisNotice is null ? null : true))],
            ChatReply.Usage(results), reply.Run.AiDisclosure));
    }

    static ChatInput Input(ChatCompletionRequest r) => new(
        r.Model, r.Messages?.Select(m => new ChatTurn(m.Role, m.Content)).ToList(), r.N,
        r.Temperature, r.TopP, r.MaxCompletionTokens ?? r.MaxTokens, r.Stop, r.Seed, r.TopK, r.RepetitionPenalty);
}
