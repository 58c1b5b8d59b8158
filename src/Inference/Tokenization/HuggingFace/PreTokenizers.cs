using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Service.Inference.Tokenization.HuggingFace;

/// <summary>A piece of text between pre-tokenizer splits; AtStart when it begins at offset 0 of the input (Metaspace "first").</summary>
public readonly record struct Piece(string Text, bool AtStart);

/// <summary>A `pre_tokenizer` of tokenizer.json: one piece in, its sub-pieces out.</summary>
public delegate IEnumerable<Piece> PreTokenizer(Piece piece);

/// <summary>
/// ByteLevel, Split, Sequence, Metaspace, Digits, Punctuation, Whitespace, WhitespaceSplit, BertPreTokenizer and
/// CharDelimiterSplit with the split behaviours of tokenizers' NormalizedString::split.
/// </summary>
public static class PreTokenizers
{
    /// <summary>GPT-2's pattern, which a ByteLevel pre-tokenizer with use_regex splits with.</summary>
    const string Gpt2Pattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";
    static readonly Lazy<Regex> Gpt2 = new(() => CodePointRegex.Create(Gpt2Pattern));
    static readonly Lazy<Regex> WordsAndSymbols = new(() => CodePointRegex.Create(@"\w+|[^\w\s]+"));

    enum Behavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous }

    public static PreTokenizer? Parse(JsonElement node, string source, string path = "pre_tokenizer")
    {
        if (node.ValueKind == JsonValueKind.Null) return null;
        var type = TokenizerJson.Type(node, source, path);
        switch (type)
        {
            case "ByteLevel":
                {
                    bool prefix = TokenizerJson.Flag(node, "add_prefix_space", true), useRegex = TokenizerJson.Flag(node, "use_regex", true);
                    var regex = useRegex ? Gpt2.Value : null;
                    return piece =>
                    {
                        var text = prefix && !piece.Text.StartsWith(' ') ? " " + piece.Text : piece.Text;
                        var parts = regex is null ? [piece with { Text = text }] : Split(piece with { Text = text }, RegexMatches(regex, text), Behavior.Isolated);
                        return parts.Select(p => p with { Text = ToByteLevel(p.Text) });
                    };
                }
            case "Split":
                {
                    var regex = TokenizerJson.Pattern(node.GetProperty("pattern"), source, path);
                    var behavior = ParseBehavior(node, source, path);
                    bool invert = TokenizerJson.Flag(node, "invert", false);
                    return piece => Split(piece, RegexMatches(regex, piece.Text).Select(m => m with { IsMatch = m.IsMatch ^ invert }), behavior);
                }
            case "Sequence":
                {
                    var steps = node.GetProperty("pretokenizers").EnumerateArray()
                        .Select((n, i) => Parse(n, source, $"{path}.pretokenizers[{i}]")).OfType<PreTokenizer>().ToList();
                    return piece =>
                    {
                        IEnumerable<Piece> pieces = [piece];
                        foreach (var step in steps) pieces = pieces.SelectMany(p => step(p)).ToList();
                        return pieces;
                    };
                }
            case "Metaspace":
                {
                    var replacement = TokenizerJson.OptionalString(node, "replacement") ?? "▁";
                    if (replacement.Length != 1) throw TokenizerJson.Error(source, path, "a Metaspace replacement must be one character");
                    var scheme = TokenizerJson.OptionalString(node, "prepend_scheme")
                        ?? (TokenizerJson.Flag(node, "add_prefix_space", true) ? "always" : "never");
                    if (scheme is not ("always" or "first" or "never")) throw TokenizerJson.Error(source, path, $"the prepend_scheme '{scheme}' is not always, first or never");
                    bool split = TokenizerJson.Flag(node, "split", true);
                    char r = replacement[0];
                    return piece =>
                    {
                        var text = piece.Text.Replace(' ', r);
                        if (!text.StartsWith(r) && (scheme == "always" || scheme == "first" && piece.AtStart)) text = r + text;
                        var replaced = piece with { Text = text };
                        return split ? Split(replaced, CharMatches(text, c => c.Value == r), Behavior.MergedWithNext) : [replaced];
                    };
                }
            case "Digits":
                {
                    var behavior = TokenizerJson.Flag(node, "individual_digits", false) ? Behavior.Isolated : Behavior.Contiguous;
                    return piece => Split(piece, CharMatches(piece.Text, Rune.IsNumber), behavior);
                }
            case "Punctuation":
                {
                    var behavior = node.TryGetProperty("behavior", out _) ? ParseBehavior(node, source, path) : Behavior.Isolated;
                    return piece => Split(piece, CharMatches(piece.Text, IsPunctuation), behavior);
                }
            case "Whitespace":
                return piece => Split(piece, RegexMatches(WordsAndSymbols.Value, piece.Text).Select(m => m with { IsMatch = !m.IsMatch }), Behavior.Removed);
            case "WhitespaceSplit":
                return piece => Split(piece, CharMatches(piece.Text, Rune.IsWhiteSpace), Behavior.Removed);
            case "BertPreTokenizer":
                return piece => Split(piece, CharMatches(piece.Text, Rune.IsWhiteSpace), Behavior.Removed)
                    .SelectMany(p => Split(p, CharMatches(p.Text, IsPunctuation), Behavior.Isolated));
            case "CharDelimiterSplit":
                {
                    var delimiter = node.GetProperty("delimiter").GetString()!;
                    return piece => Split(piece, CharMatches(piece.Text, c => c.ToString() == delimiter), Behavior.Removed);
                }
            default:
                throw TokenizerJson.Error(source, path, $"the pre-tokenizer type '{type}' is not supported (supported: ByteLevel, Split, Sequence, Metaspace, Digits, Punctuation, Whitespace, WhitespaceSplit, BertPreTokenizer, CharDelimiterSplit)");
        }
    }

    public static string ToByteLevel(string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        var chars = new char[bytes.Length];
        for (int i = 0; i < bytes.Length; i++) chars[i] = ByteLevelAlphabet.Char(bytes[i]);
        return new string(chars);
    }

    /// <summary>Rust's is_ascii_punctuation or is_punctuation (Unicode P*).</summary>
    static bool IsPunctuation(Rune c) =>
        c.IsAscii && char.IsAsciiLetterOrDigit((char)c.Value) is false && c.Value is > 0x20 and < 0x7F
        || Rune.GetUnicodeCategory(c) is UnicodeCategory.ConnectorPunctuation or UnicodeCategory.DashPunctuation or UnicodeCategory.OpenPunctuation
            or UnicodeCategory.ClosePunctuation or UnicodeCategory.InitialQuotePunctuation or UnicodeCategory.FinalQuotePunctuation or UnicodeCategory.OtherPunctuation;

    static Behavior ParseBehavior(JsonElement node, string source, string path)
    {
        var name = TokenizerJson.OptionalString(node, "behavior") ?? "";
        return Enum.TryParse<Behavior>(name, out var behavior) && Enum.IsDefined(behavior) ? behavior
            : throw TokenizerJson.Error(source, $"{path}.behavior", $"'{name}' is not one of Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous");
    }

    readonly record struct Span(int Start, int End, bool IsMatch);

    /// <summary>tokenizers' Pattern::find_matches for a regex: matches and the gaps between them, covering the text.</summary>
    static List<Span> RegexMatches(Regex regex, string text)
    {
        var spans = new List<Span>();
        int previous = 0;
        for (var m = regex.Match(text); m.Success; m = m.NextMatch())
        {
            if (m.Length == 0) continue;
            if (m.Index > previous) spans.Add(new Span(previous, m.Index, false));
            spans.Add(new Span(m.Index, m.Index + m.Length, true));
            previous = m.Index + m.Length;
        }
        if (previous < text.Length) spans.Add(new Span(previous, text.Length, false));
        return spans;
    }

    /// <summary>find_matches for a character predicate: every matching code point is a match of its own.</summary>
    static List<Span> CharMatches(string text, Func<Rune, bool> predicate)
    {
        var spans = new List<Span>();
        int previous = 0;
        for (int i = 0; i < text.Length;)
        {
            var rune = Rune.GetRuneAt(text, i);
            int end = i + rune.Utf16SequenceLength;
            if (predicate(rune))
            {
                if (i > previous) spans.Add(new Span(previous, i, false));
                spans.Add(new Span(i, end, true));
                previous = end;
            }
            i = end;
        }
        if (previous < text.Length) spans.Add(new Span(previous, text.Length, false));
        return spans;
    }

    /// <summary>NormalizedString::split: group the spans by behaviour, drop removed and empty pieces.</summary>
    static List<Piece> Split(Piece piece, IEnumerable<Span> spans, Behavior behavior)
    {
        var groups = new List<(int Start, int End, bool Remove)>();
        bool previousMatch = false;
        var list = spans.ToList();
        if (behavior == Behavior.MergedWithNext) list.Reverse();
        foreach (var s in list)
        {
            bool merge = behavior switch
            {
                Behavior.Contiguous => s.IsMatch == previousMatch,
                Behavior.MergedWithPrevious or Behavior.MergedWithNext => s.IsMatch && !previousMatch,
                _ => false,
            };
            if (merge && groups.Count > 0)
            {
                var last = groups[^1];
                groups[^1] = behavior == Behavior.MergedWithNext ? (s.Start, last.End, false) : (last.Start, s.End, false);
            }
            else groups.Add((s.Start, s.End, behavior == Behavior.Removed && s.IsMatch));
            previousMatch = s.IsMatch;
        }
        if (behavior == Behavior.MergedWithNext) groups.Reverse();
        var pieces = new List<Piece>(groups.Count);
        foreach (var (start, end, remove) in groups)
            if (!remove && end > start) pieces.Add(new Piece(piece.Text[start..end], piece.AtStart && start == 0));
        return pieces;
    }
}
