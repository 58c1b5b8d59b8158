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

    public int Length => Text.Length;
    public bool HasContent => _content is not null;
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
    public int CompareTo(TemplateText? other) => string.CompareOrdinal(Text, other?.Text);

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
