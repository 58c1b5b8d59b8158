using Service.Inference.Generation;
using Service.Inference.Hosting;
using Service.Inference.Tokenization;

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
    double? RepetitionPenalty = null)
{
    /// <summary>OpenAI's `logprobs` and `top_logprobs` (checked by <see cref="ChatEngine.Prepare"/>).</summary>
    public bool? Logprobs { get; init; }
    public int? TopLogprobs { get; init; }
    /// <summary>The grammar a guided reply follows (response_format json_schema, structured_outputs.choice), or null.</summary>
    public Generation.Guided.OutputGrammar? Guide { get; init; }
}

/// <summary>A validated, encoded chat request, ready for the model's thread.</summary>
public sealed record PreparedChat(GenerationRequest Generation, int DroppedTurns, SafetyNotices Notices)
{
    /// <summary>
    /// What precedes the reply's text: the notices, except in a guided reply, whose content must stay exactly the
    /// JSON or choice asked for (crisis_notice, X-Crisis-Notice and ai_disclosure still carry the notices).
    /// </summary>
    public string ReplyPreamble => Generation.Guide is null ? Notices.Preamble : "";
}

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
        var logprobs = LogprobOptions.From(query.Logprobs, query.TopLogprobs, () => TokenTable.For(bundle.Tokenizer, bundle.Model.VocabSize));
        var (conversation, prompt) = BuildPrompt(query.Messages, cancellation);
        int context = bundle.Model.MaxSequenceLength;
        int maxTokens = query.MaxTokens ?? options.MaxTokens;
        if (maxTokens < 1)
            throw InferenceException.Invalid($"max_tokens must be at least 1; it was {maxTokens}.", "max_tokens");
        // The reply may not run past the model's context: a longer request ends with finish_reason "length".
        maxTokens = Math.Min(maxTokens, context - prompt.Ids.Length);
        var generation = new GenerationRequest(prompt.Ids, maxTokens, sampling, bundle.EndOfSequenceIds, [.. bundle.Format.StopStrings, .. query.Stop ?? []], logprobs,
            query.Guide is { } grammar ? Guide(grammar) : null);
        return new PreparedChat(generation, prompt.DroppedTurns, _safety.Assess(conversation));
    }

    Generation.Guided.GuideOptions Guide(Generation.Guided.OutputGrammar grammar)
    {
        var tokens = TokenTable.For(bundle.Tokenizer, bundle.Model.VocabSize);
        Generation.Guided.TokenGuide.Prepare(tokens);
        return new(grammar, tokens);
    }

    /// <summary>
    /// The prompt a conversation becomes: the default system message when it sends none, the prompt
    /// format, and the input budget (oldest turns dropped). `/tokenize` shows exactly this.
    /// </summary>
    public (Conversation Conversation, ChatPrompt Prompt) BuildPrompt(IReadOnlyList<ChatMessage> messages, CancellationToken cancellation = default)
    {
        ChatPromptBuilder.CheckSize(messages, options);
        var conversation = Conversation.From(messages);
        if (conversation.System is null && !string.IsNullOrEmpty(bundle.DefaultSystem)) conversation = conversation with { System = bundle.DefaultSystem };
        int budget = Math.Min(options.MaxInputTokens, bundle.Model.MaxSequenceLength - 1);
        return (conversation, ChatPromptBuilder.Build(conversation, bundle.Format, bundle.Tokenizer, budget, cancellation));
    }

    /// <summary>
    /// Each sampling value from the first that sets it: the request, then `Chat:*`, then the checkpoint's
    /// generation_config.json (as vLLM applies it), then SoulChat's values (top-k and the repetition
    /// penalty off). <see cref="ChatService"/> has checked the request's values.
    /// </summary>
    public SamplingParameters Sampling(ChatQuery q)
    {
        var checkpoint = bundle.GenerationDefaults;
        int? topK = q.TopK ?? options.TopK ?? checkpoint.TopK;
        return new(q.Temperature ?? options.Temperature ?? checkpoint.Temperature ?? ChatOptions.SoulChatTemperature,
            q.TopP ?? options.TopP ?? checkpoint.TopP ?? ChatOptions.SoulChatTopP,
            topK is 0 ? null : topK,
            q.RepetitionPenalty ?? options.RepetitionPenalty ?? checkpoint.RepetitionPenalty ?? 1.0,
            q.Seed);
    }
}
