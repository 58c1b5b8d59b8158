using Service.Inference.Hosting;

namespace Service.Inference.Chat;

/// <summary>A conversation formatted and encoded within the input budget.</summary>
public sealed record ChatPrompt(int[] Ids, int DroppedTurns);

public static class ChatPromptBuilder
{
    /// <summary>
    /// Formats and encodes the conversation; when it exceeds the budget, drops the oldest whole
    /// turns first. The system message and the last user message always stay: if they alone exceed
    /// the budget, the request is invalid.
    /// </summary>
    /// <remarks>
    /// The prompt chosen is the one with the fewest dropped turns that fits, as if every count of
    /// dropped turns were tried from 0 up (the old algorithm, quadratic in the conversation). It is
    /// found by a search over the number of newest turns kept: 0, then 1, 2, 4, ... until one does
    /// not fit, then bisection. That relies on a prompt never getting longer when an older turn is
    /// dropped, which holds for every format that writes each turn as its own text (all of ours,
    /// and chat templates that loop over the messages). Work then grows with the part that is kept
    /// (bounded by the budget), times its logarithm, not with the conversation; text pieces repeated
    /// between tries are encoded once, and <paramref name="cancellation"/> is checked before each try.
    /// </remarks>
    public static ChatPrompt Build(Conversation conversation, IPromptFormat format, IChatTokenizer tokenizer, int budget,
        CancellationToken cancellation = default)
    {
        int turns = conversation.Turns.Count;
        var repeated = new RepeatedTextTokenizer(tokenizer);
        int[] Encode(int kept)
        {
            cancellation.ThrowIfCancellationRequested();
            return format.Build(conversation.WithoutOldest(turns - kept)).Ids(repeated, format.UsesTokenizerSpecials);
        }

        var minimal = Encode(0);
        if (minimal.Length > budget)
        {
            var what = conversation.System is null ? "the last user message" : "the system message and the last user message";
            throw InferenceException.Invalid(
                $"messages: {what} alone take {minimal.Length} tokens in the prompt; the input budget is {budget} tokens. Shorten the last message.", "messages");
        }
        // fits: the most turns known to fit (with its ids); tooMany: the fewest known not to fit.
        (int kept, int[] ids) fits = (0, minimal);
        int tooMany = turns + 1;
        for (int step = 1; fits.kept < turns; step *= 2)
        {
            int kept = Math.Min(turns, fits.kept + step);
            var ids = Encode(kept);
            if (ids.Length > budget)
            {
                tooMany = kept;
                break;
            }
            fits = (kept, ids);
        }
        while (tooMany - fits.kept > 1 && fits.kept < turns)
        {
            int kept = fits.kept + (tooMany - fits.kept) / 2;
            var ids = Encode(kept);
            if (ids.Length > budget) tooMany = kept;
            else fits = (kept, ids);
        }
        return new ChatPrompt(fits.ids, turns - fits.kept);
    }

    /// <summary>
    /// Refuses conversations too large to format at all (`Chat:MaxMessages`, `Chat:MaxCharacters`),
    /// before anything is tokenized.
    /// </summary>
    public static void CheckSize(IReadOnlyList<ChatMessage> messages, ChatOptions options)
    {
        if (options.MaxMessages > 0 && messages.Count > options.MaxMessages)
            throw InferenceException.Invalid(
                $"messages holds {messages.Count} messages; at most {options.MaxMessages} are accepted (Chat:MaxMessages). Send only the recent turns.", "messages");
        if (options.MaxCharacters <= 0) return;
        long characters = 0;
        foreach (var m in messages) characters += m.Content.Length;
        if (characters > options.MaxCharacters)
            throw InferenceException.Invalid(
                $"messages hold {characters} characters; at most {options.MaxCharacters} are accepted (Chat:MaxCharacters). Send only the recent turns.", "messages");
    }

    /// <summary>
    /// The model's tokenizer with each distinct text encoded once, for the tries of one build (a piece
    /// such as one message's text recurs in every try). Every member delegates, defaults included.
    /// </summary>
    sealed class RepeatedTextTokenizer(IChatTokenizer inner) : IChatTokenizer
    {
        readonly Dictionary<string, int[]> _encoded = new(StringComparer.Ordinal);

        public int[] Encode(string text)
        {
            if (!_encoded.TryGetValue(text, out var ids)) _encoded[text] = ids = inner.Encode(text);
            return ids;
        }

        public string Decode(IReadOnlyList<int> ids) => inner.Decode(ids);
        public int[] EncodeWithSpecialTokens(string text) => inner.EncodeWithSpecialTokens(text);
        public int? SpecialTokenId(string token) => inner.SpecialTokenId(token);
        public IReadOnlyCollection<string> SpecialTokens => inner.SpecialTokens;
        public int? BeginningOfSequenceId => inner.BeginningOfSequenceId;
        public int? EndOfSequenceId => inner.EndOfSequenceId;
        public IReadOnlyList<int> EndOfPromptIds => inner.EndOfPromptIds;
    }
}
