using Service.Inference.Checkpoints;

namespace Service.Inference.Chat.Templates;

/// <summary>
/// The added tokens of a `tokenizer.json` (special or not): the strings a Hugging Face tokenizer
/// emits as single tokens wherever they occur in the text it is given. The template prompt format
/// recognises them in template text only.
/// </summary>
public static class AddedTokens
{
    public static IReadOnlyList<string> Read(string tokenizerJson)
    {
        using var doc = CheckpointDirectory.ReadJson(tokenizerJson);
        if (doc is null || !doc.RootElement.TryGetProperty("added_tokens", out var added)) return [];
        return [.. added.EnumerateArray()
            .Where(t => t.TryGetProperty("content", out var c) && c.GetString() is { Length: > 0 })
            .Select(t => t.GetProperty("content").GetString()!)];
    }
}
