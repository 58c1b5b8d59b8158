namespace Service.Inference.Tokenization;

/// <summary>What `/tokenize` answers: the ids a model would read and its context length.</summary>
public sealed record TokenizedText(int[] Tokens, int MaxModelLength);

/// <summary>The checks `/tokenize` and `/detokenize` share between the chat and the fill-mask model.</summary>
public static class TokenRequests
{
    /// <summary>More ids than any served context; a bound so one request cannot ask for unbounded text.</summary>
    public const int MaxDetokenizeIds = 131_072;

    /// <summary>Exactly one of prompt and messages; messages only for a model that chats.</summary>
    public static void CheckPromptOrMessages(string? prompt, bool hasMessages, bool chats)
    {
        if (prompt is not null && hasMessages)
            throw InferenceException.Invalid("send either prompt or messages, not both.", "prompt");
        if (prompt is null && !hasMessages)
            throw InferenceException.Invalid(chats ? "prompt or messages is required." : "prompt is required.", "prompt");
        if (hasMessages && !chats)
            throw InferenceException.Invalid("messages needs the chat model; send prompt to tokenize for this model (see GET /v1/models).", "messages");
    }

    /// <summary>Every id in [0, vocabulary size); the first one outside is named by its index.</summary>
    public static void CheckIds(IReadOnlyList<int>? ids, int vocabularySize)
    {
        if (ids is null)
            throw InferenceException.Invalid("tokens is required: send the token ids to turn into text.", "tokens");
        if (ids.Count > MaxDetokenizeIds)
            throw InferenceException.Invalid($"tokens holds {ids.Count} ids; at most {MaxDetokenizeIds} are allowed.", "tokens");
        for (int i = 0; i < ids.Count; i++)
            if (ids[i] < 0 || ids[i] >= vocabularySize)
                throw InferenceException.Invalid($"tokens[{i}] is {ids[i]}; token ids of this model are 0 to {vocabularySize - 1}.", "tokens");
    }
}
