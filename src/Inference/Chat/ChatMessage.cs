namespace Service.Inference.Chat;

public enum ChatRole { System, User, Assistant }

public sealed record ChatMessage(ChatRole Role, string Content);

/// <summary>A chat history in the shape every prompt format needs: system text, past turns, the new user message.</summary>
public sealed record Conversation(string? System, IReadOnlyList<(string User, string Assistant)> Turns, string LastUser)
{
    /// <summary>
    /// The messages each text was joined from when a role sent several in a row (null when none did): chat
    /// templates get them one by one, as transformers passes them; built-in formats read the joined text.
    /// </summary>
    public ConversationParts? Parts { get; init; }

    /// <summary>
    /// Reads OpenAI-style messages: system messages first, then user and assistant alternating,
    /// ending with a user message. Consecutive messages of one role are joined by a newline
    /// (and kept apart in <see cref="Parts"/>).
    /// </summary>
    public static Conversation From(IReadOnlyList<ChatMessage> messages)
    {
        if (messages.Count == 0) throw Invalid("messages is empty; send at least one user message.");
        var merged = new List<ChatMessage>();
        var parts = new List<List<string>>();
        foreach (var m in messages)
        {
            if (merged.Count > 0 && merged[^1].Role == m.Role)
            {
                merged[^1] = m with { Content = merged[^1].Content + "\n" + m.Content };
                parts[^1].Add(m.Content);
            }
            else
            {
                merged.Add(m);
                parts.Add([m.Content]);
            }
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
        var conversation = new Conversation(system, turns, rest[^1].Content);
        if (parts.All(p => p.Count == 1)) return conversation;
        var restParts = parts.Skip(system is null ? 0 : 1).ToList();
        var turnParts = new List<(IReadOnlyList<string>, IReadOnlyList<string>)>();
        for (int i = 0; i + 1 < restParts.Count; i += 2) turnParts.Add((restParts[i], restParts[i + 1]));
        return conversation with { Parts = new ConversationParts(system is null ? null : parts[0], turnParts, restParts[^1]) };
    }

    /// <summary>The same conversation without its oldest <paramref name="count"/> turns.</summary>
    public Conversation WithoutOldest(int count) => this with
    {
        Turns = [.. Turns.Skip(count)],
        Parts = Parts is null ? null : Parts with { Turns = [.. Parts.Turns.Skip(count)] },
    };

    static InferenceException Invalid(string message) => InferenceException.Invalid("messages: " + message, "messages");
}

/// <summary>The separate messages behind each text of a <see cref="Conversation"/> (see <see cref="Conversation.Parts"/>).</summary>
public sealed record ConversationParts(
    IReadOnlyList<string>? System, IReadOnlyList<(IReadOnlyList<string> User, IReadOnlyList<string> Assistant)> Turns, IReadOnlyList<string> LastUser)
{
    /// <summary>The messages joined into <paramref name="text"/>, or the text alone when they no longer make it (it was replaced).</summary>
    public static IReadOnlyList<string> Of(string text, IReadOnlyList<string>? parts) =>
        parts is { Count: > 1 } && string.Join("\n", parts) == text ? parts : [text];
}
