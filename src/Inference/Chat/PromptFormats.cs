using System.Text.RegularExpressions;

namespace Service.Inference.Chat;

/// <summary>How a model expects a conversation to be written (`Models:Chat:PromptFormat`).</summary>
public interface IPromptFormat
{
    string Name { get; }
    Prompt Build(Conversation conversation);
    /// <summary>Special tokens the format inserts; the tokenizer must have them all.</summary>
    IReadOnlyList<string> SpecialTokens { get; }
    /// <summary>Special tokens that end the assistant's turn (besides the model's EOS).</summary>
    IReadOnlyList<string> EndOfTurnTokens { get; }
    /// <summary>Text that means the model started the next turn itself: generation stops there.</summary>
    IReadOnlyList<string> StopStrings { get; }
    /// <summary>
    /// Plain-text formats get the tokenizer's own special tokens (Llama's BOS before, ChatGLM's
    /// [gMASK] &lt;sop&gt; after), as the tokenizer would add them; templates write their own.
    /// </summary>
    bool UsesTokenizerSpecials { get; }
    /// <summary>Clean-up of reply text; must keep prefixes stable (see ReplyText).</summary>
    string CleanReply(string text);
}

public static partial class PromptFormats
{
    public static readonly string[] Names = ["soulchat", "chatml", "llama3", "chatglm"];

    public static IPromptFormat Get(string name) => name.Trim().ToLowerInvariant() switch
    {
        "soulchat" => new SoulChatFormat(),
        "chatml" => new ChatMlFormat(),
        "llama3" => new Llama3Format(),
        "chatglm" => new ChatGlmFormat(),
        _ => throw new ArgumentException($"Models:Chat:PromptFormat '{name}' is not known; use one of {string.Join(", ", Names)}, or template (the checkpoint's chat template)."),
    };

    [GeneratedRegex("\n+")]
    internal static partial Regex NewlineRuns();
}

/// <summary>
/// SoulChat: past turns `用户：{user}\n心理咨询师：{assistant}` joined by newlines, then the new question,
/// as SoulChat's demo writes them; runs of newlines in the reply collapse to one, as its demo does.
/// </summary>
public sealed class SoulChatFormat : IPromptFormat
{
    public string Name => "soulchat";
    public IReadOnlyList<string> SpecialTokens => [];
    public IReadOnlyList<string> EndOfTurnTokens => [];
    public IReadOnlyList<string> StopStrings => ["\n用户："];
    public bool UsesTokenizerSpecials => true;

    public Prompt Build(Conversation c)
    {
        var turns = c.Turns.Select(t => $"用户：{t.User}\n心理咨询师：{t.Assistant}\n");
        var system = c.System is null ? "" : c.System + "\n";
        return new Prompt([PromptPiece.Plain($"{system}{string.Concat(turns)}用户：{c.LastUser}\n心理咨询师：")]);
    }

    public string CleanReply(string text) => PromptFormats.NewlineRuns().Replace(text, "\n");
}

/// <summary>ChatML (Qwen2, Yi): `&lt;|im_start|&gt;{role}\n{content}&lt;|im_end|&gt;\n` per message, then the assistant's header.</summary>
public sealed class ChatMlFormat : IPromptFormat
{
    const string Start = "<|im_start|>", End = "<|im_end|>";
    public string Name => "chatml";
    public IReadOnlyList<string> SpecialTokens => [Start, End];
    public IReadOnlyList<string> EndOfTurnTokens => [End];
    public IReadOnlyList<string> StopStrings => [];
    public bool UsesTokenizerSpecials => false;

    public Prompt Build(Conversation c)
    {
        var pieces = new List<PromptPiece>();
        void Message(string role, string content) =>
            pieces.AddRange([PromptPiece.Special(Start), PromptPiece.Plain($"{role}\n{content}"), PromptPiece.Special(End), PromptPiece.Plain("\n")]);
        if (c.System is not null) Message("system", c.System);
        foreach (var (user, assistant) in c.Turns)
        {
            Message("user", user);
            Message("assistant", assistant);
        }
        Message("user", c.LastUser);
        pieces.AddRange([PromptPiece.Special(Start), PromptPiece.Plain("assistant\n")]);
        return new Prompt(pieces);
    }

    public string CleanReply(string text) => text;
}

/// <summary>Llama 3 Instruct: header tokens around the role, content trimmed, `&lt;|eot_id|&gt;` after each message.</summary>
public sealed class Llama3Format : IPromptFormat
{
    const string Begin = "<|begin_of_text|>", HeaderStart = "<|start_header_id|>", HeaderEnd = "<|end_header_id|>", EndOfTurn = "<|eot_id|>";
    public string Name => "llama3";
    public IReadOnlyList<string> SpecialTokens => [Begin, HeaderStart, HeaderEnd, EndOfTurn];
    public IReadOnlyList<string> EndOfTurnTokens => [EndOfTurn];
    public IReadOnlyList<string> StopStrings => [];
    public bool UsesTokenizerSpecials => false;

    public Prompt Build(Conversation c)
    {
        var pieces = new List<PromptPiece> { PromptPiece.Special(Begin) };
        void Header(string role) => pieces.AddRange([PromptPiece.Special(HeaderStart), PromptPiece.Plain(role), PromptPiece.Special(HeaderEnd)]);
        void Message(string role, string content)
        {
            Header(role);
            pieces.AddRange([PromptPiece.Plain("\n\n" + content.Trim()), PromptPiece.Special(EndOfTurn)]);
        }
        if (c.System is not null) Message("system", c.System);
        foreach (var (user, assistant) in c.Turns)
        {
            Message("user", user);
            Message("assistant", assistant);
        }
        Message("user", c.LastUser);
        Header("assistant");
        pieces.Add(PromptPiece.Plain("\n\n"));
        return new Prompt(pieces);
    }

    public string CleanReply(string text) => text;
}

/// <summary>
/// ChatGLM-6B's `build_prompt`: a first question alone; with history, `[Round i]\n问：…\n答：…\n` from
/// round 0, then `[Round n]\n问：{q}\n答：`. A system message goes first on its own line.
/// </summary>
public sealed class ChatGlmFormat : IPromptFormat
{
    public string Name => "chatglm";
    public IReadOnlyList<string> SpecialTokens => [];
    public IReadOnlyList<string> EndOfTurnTokens => [];
    public IReadOnlyList<string> StopStrings => ["\n[Round "];
    public bool UsesTokenizerSpecials => true;

    public Prompt Build(Conversation c)
    {
        var system = c.System is null ? "" : c.System + "\n";
        if (c.Turns.Count == 0) return new Prompt([PromptPiece.Plain(system + c.LastUser)]);
        var rounds = c.Turns.Select((t, i) => $"[Round {i}]\n问：{t.User}\n答：{t.Assistant}\n");
        return new Prompt([PromptPiece.Plain($"{system}{string.Concat(rounds)}[Round {c.Turns.Count}]\n问：{c.LastUser}\n答：")]);
    }

    public string CleanReply(string text) => text;
}
