using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Service.Inference.Tokenization.HuggingFace;

/// <summary>
/// Translates an Oniguruma pattern (the engine of Hugging Face's tokenizers) into a .NET pattern that
/// matches whole code points. .NET's Regex works on UTF-16 units, so `\p{L}` never matches a letter
/// outside the Basic Multilingual Plane (a surrogate pair) and `[^\p{L}]` matches half of one. Every
/// character class, `\p{..}`, `\d`, `\w`, `\S` and `.` is therefore rewritten into an alternation of a
/// BMP class and the surrogate pairs of its astral members, computed from .NET's own Unicode data.
/// Nested classes (`[^(\s|[.,])]`, BLOOM) are unions, as in Oniguruma. Hand-written because no
/// maintained .NET library translates Oniguruma patterns.
/// </summary>
public static class CodePointRegex
{
    const int MaxCodePoint = 0x10FFFF;
    static readonly Lazy<byte[]> Categories = new(() =>
    {
        var categories = new byte[MaxCodePoint + 1];
        for (int c = 0; c <= MaxCodePoint; c++) categories[c] = (byte)CharUnicodeInfo.GetUnicodeCategory(c);
        return categories;
    });

    /// <summary>A compiled .NET regex equivalent to the Oniguruma pattern over code points.</summary>
    public static Regex Create(string oniguruma) => new(Translate(oniguruma), RegexOptions.Compiled | RegexOptions.CultureInvariant);

    /// <summary>The literal text as a pattern (tokenizers escapes String patterns the same way).</summary>
    public static Regex Literal(string text) => new(Regex.Escape(text), RegexOptions.CultureInvariant);

    public static string Translate(string pattern)
    {
        var output = new StringBuilder(pattern.Length * 4);
        int i = 0;
        while (i < pattern.Length)
        {
            char c = pattern[i];
            if (c == '[')
                output.Append(Emit(ParseClass(pattern, ref i)));
            else if (c == '.')
            {
                var set = new bool[MaxCodePoint + 1];
                Array.Fill(set, true);
                set['\n'] = false;
                output.Append(Emit(set));
                i++;
            }
            else if (c == '\\' && i + 1 < pattern.Length)
            {
                char e = pattern[i + 1];
                if (e is 'p' or 'P' or 'd' or 'D' or 'w' or 'W' or 'S')
                    output.Append(Emit(ParseClassEscape(pattern, ref i)));
                else if (e == 'x' && i + 2 < pattern.Length && pattern[i + 2] == '{')
                    output.Append(EmitCodePoint(ParseLiteral(pattern, ref i)));
                else
                {
                    output.Append(c).Append(e); // \s, \r, \n, \\, \(, backreferences: the same in .NET
                    i += 2;
                }
            }
            else if (char.IsHighSurrogate(c) && i + 1 < pattern.Length)
            {
                output.Append("(?:").Append(c).Append(pattern[i + 1]).Append(')'); // a quantifier after it applies to the pair
                i += 2;
            }
            else
            {
                output.Append(c);
                i++;
            }
        }
        return output.ToString();
    }

    /// <summary>A class `[...]` at pattern[i]; on return i is past its `]`.</summary>
    static bool[] ParseClass(string p, ref int i)
    {
        i++; // [
        bool negate = i < p.Length && p[i] == '^';
        if (negate) i++;
        var set = new bool[MaxCodePoint + 1];
        bool first = true;
        while (true)
        {
            if (i >= p.Length) throw new ArgumentException($"unterminated character class in /{p}/");
            char c = p[i];
            if (c == ']' && !first) { i++; break; }
            first = false;
            if (c == '[')
            {
                if (i + 1 < p.Length && p[i + 1] == ':') throw new ArgumentException($"POSIX bracket classes are not supported in /{p}/");
                Union(set, ParseClass(p, ref i));
                continue;
            }
            if (c == '&' && i + 1 < p.Length && p[i + 1] == '&') throw new ArgumentException($"class intersection (&&) is not supported in /{p}/");
            if (c == '\\' && i + 1 < p.Length && p[i + 1] is 'p' or 'P' or 'd' or 'D' or 'w' or 'W' or 's' or 'S')
            {
                Union(set, ParseClassEscape(p, ref i));
                continue;
            }
            int from = ParseLiteral(p, ref i);
            int to = from;
            if (i + 1 < p.Length && p[i] == '-' && p[i + 1] != ']')
            {
                i++;
                to = ParseLiteral(p, ref i);
                if (to < from) throw new ArgumentException($"reversed range in /{p}/");
            }
            for (int x = from; x <= to; x++) set[x] = true;
        }
        if (negate)
            for (int x = 0; x <= MaxCodePoint; x++) set[x] = !set[x];
        return set;
    }

    /// <summary>One literal code point (plain, surrogate pair, or escape) at p[i]; advances i.</summary>
    static int ParseLiteral(string p, ref int i)
    {
        char c = p[i];
        if (char.IsHighSurrogate(c) && i + 1 < p.Length && char.IsLowSurrogate(p[i + 1]))
        {
            i += 2;
            return char.ConvertToUtf32(c, p[i - 1]);
        }
        if (c != '\\') { i++; return c; }
        char e = p[i + 1];
        i += 2;
        switch (e)
        {
            case 'n': return '\n';
            case 'r': return '\r';
            case 't': return '\t';
            case 'f': return '\f';
            case 'v': return '\v';
            case 'a': return '\a';
            case 'e': return 0x1B;
            case 'x' when i < p.Length && p[i] == '{':
                {
                    int close = p.IndexOf('}', i);
                    int value = Convert.ToInt32(p[(i + 1)..close], 16);
                    i = close + 1;
                    return value;
                }
            case 'x':
                i += 2;
                return Convert.ToInt32(p.Substring(i - 2, 2), 16);
            case 'u':
                i += 4;
                return Convert.ToInt32(p.Substring(i - 4, 4), 16);
            default:
                if (char.IsLetterOrDigit(e)) throw new ArgumentException($"the escape \\{e} is not supported in /{p}/");
                return e;
        }
    }

    /// <summary>\p{..}, \P{..}, \d, \D, \w, \W, \s, \S at p[i]; advances i.</summary>
    static bool[] ParseClassEscape(string p, ref int i)
    {
        char e = p[i + 1];
        i += 2;
        bool[] set;
        switch (e)
        {
            case 'd' or 'D':
                set = OfCategories("Nd");
                break;
            case 'w' or 'W':
                set = OfCategories("L", "M", "Nd", "Pc");
                break;
            case 's' or 'S':
                set = new bool[MaxCodePoint + 1];
                for (int c = 0; c < 0x10000; c++) set[c] = char.IsWhiteSpace((char)c);
                break;
            default:
                string name;
                if (i < p.Length && p[i] == '{')
                {
                    int close = p.IndexOf('}', i);
                    name = p[(i + 1)..close];
                    i = close + 1;
                }
                else name = p[i++].ToString();
                bool negated = name.StartsWith('^');
                set = OfCategories(negated ? name[1..] : name);
                if (negated) e = 'P';
                break;
        }
        if (char.IsUpper(e))
            for (int x = 0; x <= MaxCodePoint; x++) set[x] = !set[x];
        return set;
    }

    static readonly Dictionary<string, string> LongNames = new(StringComparer.OrdinalIgnoreCase)
    {
        ["Letter"] = "L", ["Mark"] = "M", ["Number"] = "N", ["Punctuation"] = "P", ["Punct"] = "P", ["Symbol"] = "S",
        ["Separator"] = "Z", ["Other"] = "C", ["Digit"] = "Nd", ["Alpha"] = "L", ["Space"] = "Z",
    };

    static bool[] OfCategories(params string[] names)
    {
        var wanted = new bool[32];
        foreach (var raw in names)
        {
            var name = LongNames.TryGetValue(raw, out var shortName) ? shortName : raw;
            bool any = false;
            foreach (UnicodeCategory category in Enum.GetValues<UnicodeCategory>())
                if (Abbreviation(category).StartsWith(name, StringComparison.Ordinal) && name.Length is 1 or 2)
                {
                    wanted[(int)category] = true;
                    any = true;
                }
            if (!any) throw new ArgumentException($"the Unicode property \\p{{{raw}}} is not supported (only general categories are)");
        }
        var categories = Categories.Value;
        var set = new bool[MaxCodePoint + 1];
        for (int c = 0; c <= MaxCodePoint; c++) set[c] = wanted[categories[c]];
        return set;
    }

    static string Abbreviation(UnicodeCategory category) => category switch
    {
        UnicodeCategory.UppercaseLetter => "Lu", UnicodeCategory.LowercaseLetter => "Ll", UnicodeCategory.TitlecaseLetter => "Lt",
        UnicodeCategory.ModifierLetter => "Lm", UnicodeCategory.OtherLetter => "Lo", UnicodeCategory.NonSpacingMark => "Mn",
        UnicodeCategory.SpacingCombiningMark => "Mc", UnicodeCategory.EnclosingMark => "Me", UnicodeCategory.DecimalDigitNumber => "Nd",
        UnicodeCategory.LetterNumber => "Nl", UnicodeCategory.OtherNumber => "No", UnicodeCategory.SpaceSeparator => "Zs",
        UnicodeCategory.LineSeparator => "Zl", UnicodeCategory.ParagraphSeparator => "Zp", UnicodeCategory.Control => "Cc",
        UnicodeCategory.Format => "Cf", UnicodeCategory.Surrogate => "Cs", UnicodeCategory.PrivateUse => "Co",
        UnicodeCategory.ConnectorPunctuation => "Pc", UnicodeCategory.DashPunctuation => "Pd", UnicodeCategory.OpenPunctuation => "Ps",
        UnicodeCategory.ClosePunctuation => "Pe", UnicodeCategory.InitialQuotePunctuation => "Pi", UnicodeCategory.FinalQuotePunctuation => "Pf",
        UnicodeCategory.OtherPunctuation => "Po", UnicodeCategory.MathSymbol => "Sm", UnicodeCategory.CurrencySymbol => "Sc",
        UnicodeCategory.ModifierSymbol => "Sk", UnicodeCategory.OtherSymbol => "So", _ => "Cn",
    };

    static void Union(bool[] into, bool[] other)
    {
        for (int x = 0; x <= MaxCodePoint; x++) into[x] |= other[x];
    }

    static string EmitCodePoint(int c)
    {
        var s = new bool[MaxCodePoint + 1];
        s[c] = true;
        return Emit(s);
    }

    /// <summary>A set of code points as `(?:[BMP members]|high[lows]|...)`; surrogate code points never match alone.</summary>
    static string Emit(bool[] set)
    {
        var alternatives = new List<string>();
        var bmp = Ranges(set, 0, 0xD7FF).Concat(Ranges(set, 0xE000, 0xFFFF)).ToList();
        if (bmp.Count > 0) alternatives.Add(ClassOf(bmp));
        // Astral members grouped by high surrogate; consecutive highs with the same lows share one alternative.
        string? previousLows = null;
        int runStart = 0;
        for (int high = 0xD800; high <= 0xDC00; high++)
        {
            string? lows = null;
            if (high < 0xDC00)
            {
                int baseCp = 0x10000 + ((high - 0xD800) << 10);
                var r = Ranges(set, baseCp, baseCp + 0x3FF).Select(x => (From: x.From - baseCp + 0xDC00, To: x.To - baseCp + 0xDC00)).ToList();
                lows = r.Count == 0 ? null : ClassOf(r);
            }
            if (lows != previousLows)
            {
                if (previousLows is not null)
                    alternatives.Add((high - 1 == runStart ? U(runStart) : $"[{U(runStart)}-{U(high - 1)}]") + previousLows);
                runStart = high;
                previousLows = lows;
            }
        }
        return alternatives.Count == 0 ? "(?!)" : $"(?:{string.Join('|', alternatives)})";
    }

    static string ClassOf(List<(int From, int To)> ranges) =>
        "[" + string.Concat(ranges.Select(r => r.From == r.To ? U(r.From) : $"{U(r.From)}-{U(r.To)}")) + "]";

    static string U(int c) => $"\\u{c:X4}";

    static IEnumerable<(int From, int To)> Ranges(bool[] set, int from, int to)
    {
        for (int c = from; c <= to; c++)
        {
            if (!set[c]) continue;
            int start = c;
            while (c + 1 <= to && set[c + 1]) c++;
            yield return (start, c);
        }
    }
}
