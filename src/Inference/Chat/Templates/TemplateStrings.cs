using System.Globalization;
using System.Text.RegularExpressions;

namespace Service.Inference.Chat.Templates;

/// <summary>Python's string operations over marked strings: each result keeps the marks of the characters it took.</summary>
static partial class TemplateStrings
{
    /// <summary>str.title(): a letter after a non-letter goes upper case, other letters lower case.</summary>
    public static TemplateText Title(TemplateText s)
    {
        var b = new TemplateText.Builder();
        bool previousCased = false;
        for (int i = 0; i < s.Length; i++)
        {
            char c = s.Text[i];
            var mapped = char.IsLetter(c) ? (previousCased ? char.ToLowerInvariant(c) : char.ToUpperInvariant(c)) : c;
            previousCased = char.IsLetter(c);
            b.Append(mapped.ToString(), s.IsContent(i));
        }
        return b.Build();
    }

    /// <summary>jinja2's `title` filter: upper-case the first character of each word (after `-`, whitespace, `(`, `{`, `[`, `&lt;`).</summary>
    public static TemplateText TitleFilter(TemplateText s)
    {
        var b = new TemplateText.Builder();
        int start = 0;
        foreach (Match m in WordBeginning().Matches(s.Text))
        {
            AppendWord(b, s.Substring(start, m.Index - start));
            b.Append(s.Substring(m.Index, m.Length));
            start = m.Index + m.Length;
        }
        AppendWord(b, s.Substring(start));
        return b.Build();

        static void AppendWord(TemplateText.Builder b, TemplateText word)
        {
            if (word.Length == 0) return;
            b.Append(word.Substring(0, 1).Map(t => t.ToUpperInvariant()));
            b.Append(word.Substring(1).Map(t => t.ToLowerInvariant()));
        }
    }

    [GeneratedRegex(@"[-\s({\[<]+")]
    private static partial Regex WordBeginning();

    public static TemplateText Capitalize(TemplateText s) => s.Length == 0 ? s
        : TemplateText.Concat(s.Substring(0, 1).Map(t => t.ToUpperInvariant()), s.Substring(1).Map(t => t.ToLowerInvariant()));

    /// <summary>str.split / str.rsplit: by a separator, or (none) by runs of whitespace without empty ends.</summary>
    public static List<object?> Split(TemplateText s, string? sep, long maxSplit, bool fromRight)
    {
        var parts = new List<(int Start, int Length)>();
        string text = s.Text;
        if (sep is not null)
        {
            var cuts = new List<int>();
            if (!fromRight)
                for (int i = text.IndexOf(sep, StringComparison.Ordinal); i >= 0 && (maxSplit < 0 || cuts.Count < maxSplit); i = text.IndexOf(sep, i + sep.Length, StringComparison.Ordinal))
                    cuts.Add(i);
            else
            {
                for (int i = text.LastIndexOf(sep, StringComparison.Ordinal); i >= 0 && (maxSplit < 0 || cuts.Count < maxSplit); i = i - sep.Length < 0 ? -1 : text.LastIndexOf(sep, i - sep.Length, StringComparison.Ordinal))
                    cuts.Insert(0, i);
                for (int k = 1; k < cuts.Count; k++)
                    if (cuts[k] < cuts[k - 1] + sep.Length) { cuts.RemoveAt(k - 1); k--; }
            }
            int start = 0;
            foreach (var cut in cuts)
            {
                parts.Add((start, cut - start));
                start = cut + sep.Length;
            }
            parts.Add((start, text.Length - start));
        }
        else
        {
            var words = new List<(int, int)>();
            for (int i = 0; i < text.Length;)
            {
                while (i < text.Length && char.IsWhiteSpace(text[i])) i++;
                if (i == text.Length) break;
                int start = i;
                while (i < text.Length && !char.IsWhiteSpace(text[i])) i++;
                words.Add((start, i - start));
            }
            if (maxSplit >= 0 && words.Count > maxSplit + 1)
            {
                if (!fromRight)
                {
                    var restStart = words[(int)maxSplit].Item1;
                    var rest = s.Substring(restStart).Strip(null, false, true);
                    words = [.. words.Take((int)maxSplit), (restStart, rest.Length)];
                }
                else
                {
                    int keep = (int)maxSplit, firstKept = words.Count - keep;
                    var head = s.Substring(0, words[firstKept - 1].Item1 + words[firstKept - 1].Item2).Strip(null, true, false);
                    words = [(words[0].Item1, head.Length), .. words.Skip(firstKept)];
                }
            }
            parts = words;
        }
        return parts.Select(p => (object?)s.Substring(p.Start, p.Length)).ToList();
    }

    /// <summary>str.splitlines(): at \n, \r\n, \r and Python's other line boundaries, the breaks dropped.</summary>
    public static List<TemplateText> SplitLines(TemplateText s)
    {
        var lines = new List<TemplateText>();
        string text = s.Text;
        int start = 0;
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (c is not ('\n' or '\r' or '\v' or '\f' or '\x1c' or '\x1d' or '\x1e' or '\x85' or '\u2028' or '\u2029')) continue;
            lines.Add(s.Substring(start, i - start));
            if (c == '\r' && i + 1 < text.Length && text[i + 1] == '\n') i++;
            start = i + 1;
        }
        if (start < text.Length) lines.Add(s.Substring(start));
        return lines;
    }

    public static TemplateText Replace(TemplateText s, TemplateText old, TemplateText replacement, long count)
    {
        var b = new TemplateText.Builder();
        int start = 0, done = 0;
        if (old.Length == 0)
        {
            // Python inserts the replacement between every code point (and at both ends).
            for (int i = 0; i <= s.CodePointCount; i++)
            {
                if (count < 0 || done < count) { b.Append(replacement); done++; }
                if (i < s.CodePointCount) b.Append(s.CodePoint(i));
            }
            return b.Build();
        }
        for (int i = s.Text.IndexOf(old.Text, StringComparison.Ordinal); i >= 0 && (count < 0 || done < count); i = s.Text.IndexOf(old.Text, start, StringComparison.Ordinal))
        {
            b.Append(s.Substring(start, i - start)).Append(replacement);
            start = i + old.Length;
            done++;
        }
        return b.Append(s.Substring(start)).Build();
    }

    public static TemplateText Join(TemplateText separator, IEnumerable<TemplateText> items)
    {
        var b = new TemplateText.Builder();
        bool first = true;
        foreach (var item in items)
        {
            if (!first) b.Append(separator);
            first = false;
            b.Append(item);
        }
        return b.Build();
    }

    public static int Count(string text, string part)
    {
        if (part.Length == 0) return text.Length + 1;
        int n = 0;
        for (int i = text.IndexOf(part, StringComparison.Ordinal); i >= 0; i = text.IndexOf(part, i + part.Length, StringComparison.Ordinal)) n++;
        return n;
    }

    /// <summary>str.format with `{}`, `{0}`, `{name}` and `{{`/`}}` (no format specs beyond none).</summary>
    public static TemplateText Format(TemplateText s, IReadOnlyList<object?> args, IReadOnlyDictionary<string, object?> kwargs)
    {
        var b = new TemplateText.Builder();
        int auto = 0;
        string text = s.Text;
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if ((c == '{' || c == '}') && i + 1 < text.Length && text[i + 1] == c) { b.Append(s.Substring(i, 1)); i++; continue; }
            if (c != '{') { b.Append(s.Substring(i, 1)); continue; }
            int close = text.IndexOf('}', i);
            if (close < 0) throw new TemplateRuntimeException("format(): single '{' in the format string");
            var field = text[(i + 1)..close];
            if (field.Contains(':') || field.Contains('!')) throw new TemplateRuntimeException("format(): format specifications are not supported");
            object? value = field.Length == 0 ? At(auto++)
                : int.TryParse(field, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? At(n)
                : kwargs.TryGetValue(field, out var named) ? named : throw new TemplateRuntimeException($"format(): no argument '{field}'");
            b.Append(TemplateValues.ToText(value));
            i = close;
        }
        return b.Build();

        object? At(int index) => index < args.Count ? args[index] : throw new TemplateRuntimeException($"format(): no argument {index}");
    }

    /// <summary>`"%s" % value`: printf-style formatting with %s, %r, %d, %i, %f and %%.</summary>
    public static TemplateText PercentFormat(TemplateText s, IReadOnlyList<object?> args)
    {
        var b = new TemplateText.Builder();
        int next = 0;
        string text = s.Text;
        for (int i = 0; i < text.Length; i++)
        {
            if (text[i] != '%' || i + 1 >= text.Length) { b.Append(s.Substring(i, 1)); continue; }
            char spec = text[++i];
            if (spec == '%') { b.Append("%"); continue; }
            if (next >= args.Count) throw new TemplateRuntimeException("not enough arguments for format string");
            var value = args[next++];
            b.Append(spec switch
            {
                's' => TemplateValues.ToText(value),
                'r' => TemplateValues.Repr(value),
                'd' or 'i' => new TemplateText(((long)Math.Truncate(TemplateValues.ToDouble(value))).ToString(CultureInfo.InvariantCulture)),
                'f' => new TemplateText(TemplateValues.ToDouble(value).ToString("F6", CultureInfo.InvariantCulture)),
                _ => throw new TemplateRuntimeException($"unsupported format character '{spec}'"),
            });
        }
        return b.Build();
    }
}
