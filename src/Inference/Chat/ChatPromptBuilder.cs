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
    public static ChatPrompt Build(Conversation conversation, IPromptFormat format, IChatTokenizer tokenizer, int budget)
    {
        int[] ids = [];
        for (int drop = 0; drop <= conversation.Turns.Count; drop++)
        {
            ids = format.Build(conversation.WithoutOldest(drop)).Ids(tokenizer, format.UsesTokenizerSpecials);
            if (ids.Length <= budget) return new ChatPrompt(ids, drop);
        }
        var what = conversation.System is null ? "the last user message" : "the system message and the last user message";
        throw InferenceException.Invalid(
            $"messages: {what} alone take {ids.Length} tokens in the prompt; the input budget is {budget} tokens. Shorten the last message.", "messages");
    }
}
