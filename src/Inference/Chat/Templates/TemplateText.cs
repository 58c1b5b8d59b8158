using System.Text;

namespace Service.Inference.Chat.Templates;

/// <summary>
/// A string value of the template engine that remembers, character by character, which characters
/// came from message content. Every string operation carries that mark along, so that after
/// rendering the prompt can be split exactly into template text (where special tokens are
/// recognised) and user text (which always stays plain text), whatever filters the template applied.
/// </summary>
public sealed class TemplateText : IEquatable<TemplateText>, IComparable<TemplateText>
{
    public static readonly TemplateText Empty = new("");

    public string Text { get; }
    readonly bool[]? _content; // null: no character comes from message content

    public TemplateText(string text, bool isContent = false)
    {
        Text = text;
        if (isContent && text.Length > 0) _content = Enumerable.Repeat(true, text.Length).ToArray();
    }

    TemplateText(string text, bool[]? content)
    {
        Text = text;
        _content = content is not null && Array.IndexOf(content, true) >= 0 ? content : null;
    }

    /// <summary>UTF-16 units; Python's len() is <see cref="CodePointCount"/>.</summary>
    public int Length => Text.Length;
    public bool HasContent => _content is not null;

    static readonly int[] OneUnitEach = [];
    int[]? _codePointStarts; // null until known; OneUnitEach when no surrogate pair (one write: safe to share across threads)

    /// <summary>
    /// Where each code point starts, or null when every code point is one unit. Python's str indexes code points,
    /// so `len`, indexing, slicing, iteration and `find` count a character outside the BMP (😀, 𝟙) once.
    /// </summary>
    int[]? CodePointStarts
    {
        get
        {
            var known = _codePointStarts;
            if (known is null)
            {
                bool pairs = false;
                for (int i = 0; i + 1 < Text.Length && !pairs; i++) pairs = char.IsSurrogatePair(Text[i], Text[i + 1]);
                var starts = new List<int>(pairs ? Text.Length : 0);
                for (int i = 0; pairs && i < Text.Length; i += i + 1 < Text.Length && char.IsSurrogatePair(Text[i], Text[i + 1]) ? 2 : 1) starts.Add(i);
                _codePointStarts = known = pairs ? [.. starts] : OneUnitEach;
            }
            return ReferenceEquals(known, OneUnitEach) ? null : known;
        }
    }

    /// <summary>Python's len(): code points.</summary>
    public int CodePointCount => CodePointStarts?.Length ?? Text.Length;

    /// <summary>The unit offset where code point <paramref name="index"/> starts (the length for the end).</summary>
    public int UnitOffset(int index) => CodePointStarts is { } s ? (index < s.Length ? s[index] : Text.Length) : index;

    /// <summary>The code point index of a unit offset (as Python's find reports positions).</summary>
    public int CodePointIndex(int unitOffset)
    {
        if (CodePointStarts is not { } starts) return unitOffset;
        int i = Array.BinarySearch(starts, unitOffset);
        return i >= 0 ? i : ~i;
    }

    /// <summary>Code point <paramref name="index"/> as a one-character string, marks kept.</summary>
    public TemplateText CodePoint(int index) => Substring(UnitOffset(index), UnitOffset(index + 1) - UnitOffset(index));

    /// <summary>Code points <paramref name="from"/> up to <paramref name="to"/> (exclusive).</summary>
    public TemplateText CodePoints(int from, int to) => to <= from ? Empty : Substring(UnitOffset(from), UnitOffset(to) - UnitOffset(from));

    /// <summary>Each code point, as Python iterates a str.</summary>
    public IEnumerable<TemplateText> CodePoints() => Enumerable.Range(0, CodePointCount).Select(CodePoint);

    /// <summary>Python's str order: by code point (UTF-16 order puts U+E000..U+FFFF after the astral planes).</summary>
    public static int CompareCodePoints(string a, string b)
    {
        int i = 0, n = Math.Min(a.Length, b.Length);
        while (i < n && a[i] == b[i]) i++;
        if (i == n) return a.Length.CompareTo(b.Length);
        static int Rank(char c) => c >= 0xD800 ? (c >= 0xE000 ? c - 0x800 : c + 0x2000) : c;
        return Rank(a[i]).CompareTo(Rank(b[i]));
    }
    public bool IsContent(int index) => _content is not null && _content[index];

    public TemplateText Substring(int start, int length)
    {
        if (start == 0 && length == Text.Length) return this;
        return new(Text.Substring(start, length), _content?.AsSpan(start, length).ToArray());
    }

    public TemplateText Substring(int start) => Substring(start, Text.Length - start);

    public static TemplateText Concat(TemplateText a, TemplateText b)
    {
        if (a.Length == 0) return b;
        if (b.Length == 0) return a;
        var builder = new Builder();
        builder.Append(a);
        builder.Append(b);
        return builder.Build();
    }

    /// <summary>Applies a per-character map (case changes); marks survive when the length does not change.</summary>
    public TemplateText Map(Func<string, string> map)
    {
        var mapped = map(Text);
        if (_content is null) return new TemplateText(mapped);
        return mapped.Length == Text.Length ? new TemplateText(mapped, _content) : new TemplateText(mapped, isContent: true);
    }

    /// <summary>Whitespace (or <paramref name="chars"/>) removed from the start and/or end, as Python's strip.</summary>
    public TemplateText Strip(string? chars, bool start, bool end)
    {
        bool Strippable(char c) => chars is null ? char.IsWhiteSpace(c) : chars.Contains(c);
        int from = 0, to = Text.Length;
        if (start) while (from < to && Strippable(Text[from])) from++;
        if (end) while (to > from && Strippable(Text[to - 1])) to--;
        return Substring(from, to - from);
    }

    public override string ToString() => Text;
    public bool Equals(TemplateText? other) => other is not null && other.Text == Text;
    public override bool Equals(object? obj) => obj is TemplateText t && Equals(t);
    public override int GetHashCode() => Text.GetHashCode();
    public int CompareTo(TemplateText? other) => other is null ? 1 : CompareCodePoints(Text, other.Text);

    /// <summary>Builds a marked string piece by piece.</summary>
    public sealed class Builder
    {
        readonly StringBuilder _text = new();
        readonly List<bool> _content = [];

        public int Length => _text.Length;

        public Builder Append(TemplateText value)
        {
            _text.Append(value.Text);
            for (int i = 0; i < value.Length; i++) _content.Add(value.IsContent(i));
            return this;
        }

        public Builder Append(string value, bool isContent = false)
        {
            _text.Append(value);
            for (int i = 0; i < value.Length; i++) _content.Add(isContent);
            return this;
        }

        public TemplateText Build() => new(_text.ToString(), _content.ToArray());
    }
}
