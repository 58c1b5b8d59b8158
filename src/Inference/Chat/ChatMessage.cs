namespace Service.Inference.Chat;

public enum ChatRole { System, User, Assistant }

public sealed record ChatMessage(ChatRole Role, string Content);

/// <summary>A chat history in the shape every prompt format needs: system text, past turns, the new user message.</summary>
public sealed record Conversation(string? System, IReadOnlyList<(string User, string Assistant)> Turns, string LastUser)
{
    /// <summary>
    /// Reads OpenAI-style messages: system messages first, then user and assistant alternating,
    /// ending with a user message. Consecutive messages of one role are joined by a newline.
    /// </summary>
    public static Conversation From(IReadOnlyList<ChatMessage> messages)
    {
        if (messages.Count == 0) throw Invalid("messages is empty; send at least one user message.");
        var merged = new List<ChatMessage>();
        foreach (var m in messages)
        {
            if (merged.Count > 0 && merged[^1].Role == m.Role) merged[^1] = m with { Content = merged[^1].Content + "\n" + m.Content };
            else merged.Add(m);
        }
        string? system = merged[0].Role == ChatRole.System ? merged[0].Content : null;
        var rest = merged.Skip(system is null ? 0 : 1).ToList();
        if (rest.Any(m => m.Role == ChatRole.System))
            throw Invalid("a system message may only come first.");
        if (rest.Count == 0 || rest[^1].Role != ChatRole.User)
            throw Invalid("the last message must be from the user.");
        if (rest[0].Role != ChatRole.User)
            throw Invalid("after the system message, the conversation must start with a user message.");
        var turns = new List<(string, string)>();
        for (int i = 0; i + 1 < rest.Count; i += 2) turns.Add((rest[i].Content, rest[i + 1].Content));
        return new Conversation(system, turns, rest[^1].Content);
    }

    /// <summary>The same conversation without its oldest <paramref name="count"/> turns.</summary>
    public Conversation WithoutOldest(int count) => this with { Turns = [.. Turns.Skip(count)] };

    static InferenceException Invalid(string message) => InferenceException.Invalid("messages: " + message, "messages");
}
