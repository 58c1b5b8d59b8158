using Service.Inference.Generation;
using Service.Inference.Hosting;

namespace Service.Inference.Chat;

/// <summary>A chat request in the service's own terms; null fields take the configured defaults.</summary>
public sealed record ChatQuery(
    IReadOnlyList<ChatMessage> Messages,
    double? Temperature = null,
    double? TopP = null,
    int? MaxTokens = null,
    IReadOnlyList<string>? Stop = null,
    long? Seed = null,
    int? TopK = null,
    double? RepetitionPenalty = null);

/// <summary>A validated, encoded chat request, ready for the model's thread.</summary>
public sealed record PreparedChat(GenerationRequest Generation, int DroppedTurns, SafetyNotices Notices);

/// <summary>
/// Chat completions. <see cref="Prepare"/> formats, truncates and encodes (any thread, no tensors) a
/// request whose fields <see cref="ChatService"/> has checked, and enforces the token limits;
/// <see cref="ChatScheduler"/> generates on the host's thread.
/// </summary>
public sealed class ChatEngine(ChatBundle bundle, ChatOptions options)
{
    readonly SafetyScreen _safety = new(options.Safety);

    public ChatBundle Bundle => bundle;
    public ChatOptions Options => options;

    public PreparedChat Prepare(ChatQuery query, CancellationToken cancellation = default)
    {
        var sampling = Sampling(query);
        ChatPromptBuilder.CheckSize(query.Messages, options);
        var conversation = Conversation.From(query.Messages);
        if (conversation.System is null && !string.IsNullOrEmpty(bundle.DefaultSystem)) conversation = conversation with { System = bundle.DefaultSystem };
        int context = bundle.Model.MaxSequenceLength;
        var prompt = ChatPromptBuilder.Build(conversation, bundle.Format, bundle.Tokenizer, Math.Min(options.MaxInputTokens, context - 1), cancellation);
        int maxTokens = query.MaxTokens ?? options.MaxTokens;
        if (maxTokens < 1)
            throw InferenceException.Invalid($"max_tokens must be at least 1; it was {maxTokens}.", "max_tokens");
        // The reply may not run past the model's context: a longer request ends with finish_reason "length".
        maxTokens = Math.Min(maxTokens, context - prompt.Ids.Length);
        var generation = new GenerationRequest(prompt.Ids, maxTokens, sampling, bundle.EndOfSequenceIds, [.. bundle.Format.StopStrings, .. query.Stop ?? []]);
        return new PreparedChat(generation, prompt.DroppedTurns, _safety.Assess(conversation));
    }

    /// <summary>Defaults for what the request left out; <see cref="ChatService"/> has checked the request's values.</summary>
    SamplingParameters Sampling(ChatQuery q) =>
        new(q.Temperature ?? options.Temperature, q.TopP ?? options.TopP, q.TopK is 0 ? null : q.TopK, q.RepetitionPenalty ?? 1.0, q.Seed);
}
