using System.Threading.Channels;
using Service.Inference.Generation;
using Service.Inference.Hosting;
using Service.Inference.Tokenization;

namespace Service.Inference.Chat;

/// <summary>One message as the API hands it over: role and content may be missing, which validation reports.</summary>
public sealed record ChatTurn(string? Role, string? Content);

/// <summary>A chat request as the API hands it over; null sampling fields take the `Chat:*` defaults.</summary>
public sealed record ChatInput(
    string? Model,
    IReadOnlyList<ChatTurn>? Messages,
    int? N = null,
    double? Temperature = null,
    double? TopP = null,
    int? MaxTokens = null,
    IReadOnlyList<string>? Stop = null,
    long? Seed = null,
    int? TopK = null,
    double? RepetitionPenalty = null);

/// <summary>
/// A started chat request of n choices. <see cref="Deltas"/> yields each final piece of reply text with its
/// choice's index (only when started with streaming) and ends when every choice has; <see cref="Results"/>[k]
/// completes with choice k's reply, or faults with the generation's error.
/// </summary>
public sealed record ChatRun(string Model, PreparedChat Chat, string? AiDisclosure, IAsyncEnumerable<ChoiceDelta> Deltas, IReadOnlyList<Task<GenerationResult>> Results);

/// <summary>A piece of choice <paramref name="Index"/>'s reply text.</summary>
public sealed record ChoiceDelta(int Index, string Text);

/// <summary>
/// Chat completions from request to reply: checks the model, the choice count, the sampling fields, the
/// stop strings and the messages, lets <see cref="ChatEngine.Prepare"/> apply the token limits (it owns the
/// tokenizer and the context length), then submits the sequence to <see cref="ChatScheduler"/>'s continuous batch on the model
/// thread. The chat endpoint calls only this. No tensor and no dispose scope ever meets an await: deltas
/// cross from the model thread through a channel.
/// </summary>
public sealed class ChatService(ModelHost host, ChatScheduler scheduler)
{
    /// <summary>Most choices (n) one request may ask for: each is a sequence of the decode batch (8 by default).</summary>
    public const int MaxChoices = 8;

    /// <summary>Validates and queues the request; throws <see cref="InferenceException"/> before anything is generated.</summary>
    public ChatRun Start(ChatInput input, bool streaming, CancellationToken cancellation)
    {
        var engine = host.Models.Chat ?? throw InferenceException.NotFound("This service has no chat model loaded.", "model");
        var served = engine.Bundle.Name;
        if (string.IsNullOrWhiteSpace(input.Model))
            throw InferenceException.Invalid($"model is required; this service serves '{served}'.", "model");
        if (input.Model != served) // the caller's text is not echoed back
            throw InferenceException.NotFound($"The requested model does not exist here; this service serves '{served}' (see GET /v1/models).", "model");
        if (input.N is < 1 or > MaxChoices)
            throw InferenceException.Invalid($"n must be between 1 and {MaxChoices}; it was {input.N}.", "n");
        var messages = Messages(input.Messages);
        CheckSampling(input, engine.Options.MaxStopStrings);
        var prepared = engine.Prepare(new ChatQuery(messages, input.Temperature, input.TopP, input.MaxTokens, input.Stop,
            input.Seed, input.TopK, input.RepetitionPenalty), cancellation);

        var deltas = Channel.CreateUnbounded<ChoiceDelta>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        Action<int, string> onDelta = streaming ? (index, delta) => deltas.Writer.TryWrite(new ChoiceDelta(index, delta)) : (_, _) => { };
        var results = scheduler.SubmitChoicesAsync(prepared, input.N ?? 1, onDelta, cancellation);
        // Each reply's last delta is written before its job completes (both on the host thread).
        _ = Task.WhenAll(results).ContinueWith(_ => deltas.Writer.TryComplete(), TaskScheduler.Default);
        var disclosure = engine.Options.Safety.AiDisclosure is { Length: > 0 } d ? d : null;
        return new ChatRun(served, prepared, disclosure, deltas.Reader.ReadAllAsync(cancellation), results);
    }

    /// <summary>Whether <paramref name="model"/> is the chat model's id (as GET /v1/models lists it).</summary>
    public bool Serves(string model) => host.Models.Chat?.Bundle.Name == model;

    /// <summary>
    /// `/tokenize` for the chat model: messages become exactly the prompt <see cref="Start"/> would run
    /// (same checks, same builder, same truncation); a prompt is encoded as plain text (never special
    /// tokens), with the tokenizer's own BOS / end-of-prompt ids when <paramref name="addSpecialTokens"/>.
    /// </summary>
    public TokenizedText Tokenize(string? prompt, IReadOnlyList<ChatTurn>? messages, bool addGenerationPrompt, bool addSpecialTokens)
    {
        var engine = Engine();
        TokenRequests.CheckPromptOrMessages(prompt, messages is not null, chats: true);
        int context = engine.Bundle.Model.MaxSequenceLength;
        if (prompt is not null)
            return new TokenizedText(new Prompt([PromptPiece.Plain(prompt)]).Ids(engine.Bundle.Tokenizer, addSpecialTokens), context);
        // Every prompt format ends where the assistant's reply begins; one without that cue is not built here.
        if (!addGenerationPrompt)
            throw InferenceException.Invalid("add_generation_prompt must be true (or omitted): the chat route always ends the prompt where the reply begins.", "add_generation_prompt");
        return new TokenizedText(engine.BuildPrompt(Messages(messages)).Prompt.Ids, context);
    }

    /// <summary>`/detokenize` for the chat model: the text of the ids, special tokens dropped (as replies are decoded).</summary>
    public string Detokenize(IReadOnlyList<int>? tokens)
    {
        var engine = Engine();
        TokenRequests.CheckIds(tokens, engine.Bundle.Model.VocabSize);
        return engine.Bundle.Tokenizer.Decode(tokens!);
    }

    ChatEngine Engine() => host.Models.Chat ?? throw InferenceException.NotFound("This service has no chat model loaded.", "model");

    /// <summary>The request's own values; configured and checkpoint defaults were checked when they were loaded.</summary>
    static void CheckSampling(ChatInput q, int maxStopStrings)
    {
        if (q.Temperature is { } temperature && (temperature is < 0 or > 2 || double.IsNaN(temperature)))
            throw InferenceException.Invalid($"temperature must be between 0 and 2; it was {temperature}.", "temperature");
        if (q.TopP is { } topP && (topP is <= 0 or > 1 || double.IsNaN(topP)))
            throw InferenceException.Invalid($"top_p must be greater than 0 and at most 1; it was {topP}.", "top_p");
        if (q.TopK is < 0)
            throw InferenceException.Invalid($"top_k must be 0 (off) or positive; it was {q.TopK}.", "top_k");
        if (q.RepetitionPenalty is { } r && (r <= 0 || double.IsNaN(r)))
            throw InferenceException.Invalid($"repetition_penalty must be positive (1 = off); it was {r}.", "repetition_penalty");
        if (q.Stop is { } stops && stops.Count > maxStopStrings)
            throw InferenceException.Invalid($"stop holds {stops.Count} strings; at most {maxStopStrings} are allowed.", "stop");
        if (q.Stop is { } some && some.Any(string.IsNullOrEmpty))
            throw InferenceException.Invalid("stop strings must not be empty.", "stop");
    }

    static List<ChatMessage> Messages(IReadOnlyList<ChatTurn>? messages)
    {
        if (messages is null || messages.Count == 0)
            throw InferenceException.Invalid("messages is required: send at least one user message.", "messages");
        return [.. messages.Select((m, i) => new ChatMessage(
            m.Role switch
            {
                "system" or "developer" => ChatRole.System,
                "user" => ChatRole.User,
                "assistant" => ChatRole.Assistant,
                _ => throw InferenceException.Invalid($"messages[{i}].role must be system, user or assistant.", "messages"),
            },
            m.Content ?? throw InferenceException.Invalid($"messages[{i}].content is required.", "messages")))];
    }
}
