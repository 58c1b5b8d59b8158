namespace Service.Inference.Chat;

/// <summary>One piece of a prompt: text to encode, or a special token inserted by id.</summary>
public readonly record struct PromptPiece(string Text, bool IsSpecial)
{
    public static PromptPiece Plain(string text) => new(text, false);
    public static PromptPiece Special(string token) => new(token, true);
}

/// <summary>A formatted prompt: text and special tokens in order. Only the formatter creates special pieces.</summary>
public sealed class Prompt(IReadOnlyList<PromptPiece> pieces)
{
    public IReadOnlyList<PromptPiece> Pieces => pieces;

    /// <summary>The prompt as a template would print it (special tokens as their text): for tests and docs.</summary>
    public string Render() => string.Concat(pieces.Select(p => p.Text));

    /// <summary>
    /// Token ids: each text piece encoded on its own (as a tokenizer splits text at special tokens),
    /// each special piece as its id; with <paramref name="tokenizerSpecials"/>, the tokenizer's BOS
    /// before and its end-of-prompt ids after.
    /// </summary>
    public int[] Ids(IChatTokenizer tokenizer, bool tokenizerSpecials)
    {
        var ids = new List<int>();
        if (tokenizerSpecials && tokenizer.BeginningOfSequenceId is int bos) ids.Add(bos);
        foreach (var p in pieces)
        {
            if (p.IsSpecial) ids.Add(tokenizer.SpecialTokenId(p.Text) ?? throw new InvalidOperationException($"the tokenizer has no special token {p.Text}"));
            else ids.AddRange(tokenizer.Encode(p.Text));
        }
        if (tokenizerSpecials) ids.AddRange(tokenizer.EndOfPromptIds);
        return [.. ids];
    }
}
