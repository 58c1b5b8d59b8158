using System.Text;
using System.Text.Json;

namespace Service.Inference.Tokenization.HuggingFace;

/// <summary>One entry of `added_tokens`.</summary>
public sealed record AddedToken(int Id, string Content, bool Special, bool SingleWord, bool LStrip, bool RStrip, bool Normalized);

/// <summary>
/// tokenizers' AddedVocabulary: added tokens are cut out of the text before the model sees it, with
/// leftmost-longest matching (Aho-Corasick in tokenizers; a trie walk here), the `single_word`, `lstrip`
/// and `rstrip` rules, first over the raw text (tokens with normalized=false), then over each normalized
/// piece (normalized=true, their content normalized too). Special tokens are matched only when asked:
/// text passed to a plain Encode never becomes a special token; nor do the ids in `keptAsText` (non-special
/// tokens a chat template writes as role markers, see <see cref="HuggingFaceChatTokenizer.KeepingAsText"/>).
/// </summary>
public sealed class AddedTokens
{
    readonly Trie _raw = new(), _normalized = new();

    public IReadOnlyList<AddedToken> All { get; }

    public AddedTokens(IReadOnlyList<AddedToken> tokens, Normalizer? normalizer)
    {
        All = tokens;
        foreach (var token in tokens)
        {
            if (token.Content.Length == 0) continue;
            if (token.Normalized) _normalized.Add(normalizer is null ? token.Content : normalizer(token.Content), token);
            else _raw.Add(token.Content, token);
        }
    }

    public static IReadOnlyList<AddedToken> Parse(JsonElement root)
    {
        if (!root.TryGetProperty("added_tokens", out var array) || array.ValueKind != JsonValueKind.Array) return [];
        return [.. array.EnumerateArray().Select(t => new AddedToken(
            t.GetProperty("id").GetInt32(), t.GetProperty("content").GetString()!,
            TokenizerJson.Flag(t, "special", false), TokenizerJson.Flag(t, "single_word", false),
            TokenizerJson.Flag(t, "lstrip", false), TokenizerJson.Flag(t, "rstrip", false), TokenizerJson.Flag(t, "normalized", true)))];
    }

    /// <summary>Splits text at tokens with normalized=false: (text, null) pieces and (content, token) pieces.</summary>
    public List<(string Text, AddedToken? Token)> SplitRaw(string text, bool withSpecial, IReadOnlySet<int>? keptAsText = null) =>
        Split(text, _raw, withSpecial, keptAsText);

    /// <summary>Splits normalized text at tokens with normalized=true.</summary>
    public List<(string Text, AddedToken? Token)> SplitNormalized(string text, bool withSpecial, IReadOnlySet<int>? keptAsText = null) =>
        Split(text, _normalized, withSpecial, keptAsText);

    static List<(string, AddedToken?)> Split(string text, Trie trie, bool withSpecial, IReadOnlySet<int>? keptAsText)
    {
        var pieces = new List<(string, AddedToken?)>();
        if (trie.IsEmpty || text.Length == 0)
        {
            pieces.Add((text, null));
            return pieces;
        }
        int startOffset = 0, position = 0;
        while (trie.FindLeftmostLongest(text, position) is var (matchStart, matchEnd, token))
        {
            position = matchEnd; // matches never overlap, even when one is skipped below
            if (!withSpecial && (token.Special || keptAsText?.Contains(token.Id) == true)) continue;
            int start = matchStart, stop = matchEnd;
            if (token.SingleWord && (start > 0 && IsWordChar(text, start - 1, before: true) || stop < text.Length && IsWordChar(text, stop, before: false))) continue;
            if (token.LStrip)
            {
                int s = start;
                while (s > 0 && char.IsWhiteSpace(text[s - 1])) s--;
                start = Math.Max(s, startOffset);
            }
            if (token.RStrip)
                while (stop < text.Length && char.IsWhiteSpace(text[stop])) stop++;
            if (startOffset < start) pieces.Add((text[startOffset..start], null));
            pieces.Add((text[start..stop], token));
            startOffset = stop;
            position = Math.Max(position, stop);
        }
        if (startOffset < text.Length) pieces.Add((text[startOffset..], null));
        return pieces;
    }

    /// <summary>Regex `\w` (letters, marks, digits, connector punctuation) on the code point before or at an index.</summary>
    static bool IsWordChar(string text, int index, bool before)
    {
        if (before && index > 0 && char.IsLowSurrogate(text[index]) && char.IsHighSurrogate(text[index - 1])) index--;
        var rune = Rune.GetRuneAt(text, index);
        return Rune.IsLetterOrDigit(rune) || rune.Value == '_'
            || Rune.GetUnicodeCategory(rune) is System.Globalization.UnicodeCategory.NonSpacingMark or System.Globalization.UnicodeCategory.SpacingCombiningMark
                or System.Globalization.UnicodeCategory.EnclosingMark or System.Globalization.UnicodeCategory.ConnectorPunctuation;
    }

    sealed class Trie
    {
        readonly Node _root = new();

        public bool IsEmpty => _root.Children.Count == 0;

        public void Add(string content, AddedToken token)
        {
            var node = _root;
            foreach (var c in content)
            {
                if (!node.Children.TryGetValue(c, out var child)) node.Children[c] = child = new Node();
                node = child;
            }
            node.Token ??= token; // the first entry with this content wins, as in tokenizers' map
        }

        /// <summary>The leftmost match at or after position, the longest among those starting there.</summary>
        public (int Start, int End, AddedToken Token)? FindLeftmostLongest(string text, int position)
        {
            for (int start = position; start < text.Length; start++)
            {
                if (!_root.Children.TryGetValue(text[start], out var node)) continue;
                (int, AddedToken)? best = null;
                for (int i = start + 1; ; i++)
                {
                    if (node.Token is not null) best = (i, node.Token);
                    if (i >= text.Length || !node.Children.TryGetValue(text[i], out node!)) break;
                }
                if (best is var (end, token)) return (start, end, token);
            }
            return null;
        }

        sealed class Node
        {
            public Dictionary<char, Node> Children { get; } = [];
            public AddedToken? Token { get; set; }
        }
    }
}
