using System.Globalization;
using System.Text;

namespace Service.Inference.Chat.Templates;

public enum TokenKind { Text, BlockStart, BlockEnd, OutputStart, OutputEnd, Name, String, Integer, Float, Operator, End }

public readonly record struct Token(TokenKind Kind, string Value, int Line);

/// <summary>
/// Splits a template into text and tag tokens with jinja2's whitespace rules as transformers sets
/// them (trim_blocks and lstrip_blocks on, `-` and `+` modifiers, comments dropped, `\r\n` read as
/// `\n`, one trailing newline of the source dropped), then the inside of each tag into expression tokens.
/// </summary>
public static class TemplateLexer
{
    enum TagKind { Block, Output, Comment }

    static readonly string[] Operators = ["**", "//", "==", "!=", "<=", ">=", "+", "-", "*", "/", "%", "~", "<", ">", "=", ".", ",", ":", "|", "(", ")", "[", "]", "{", "}"];

    public static List<Token> Tokenize(string source)
    {
        source = source.Replace("\r\n", "\n").Replace('\r', '\n');
        if (source.EndsWith('\n')) source = source[..^1];
        var tokens = new List<Token>();
        int pos = 0, line = 1;
        bool trimNextStart = false, dropNextNewline = false;
        while (pos < source.Length)
        {
            int open = NextTag(source, pos);
            string text = source[pos..(open < 0 ? source.Length : open)];
            // jinja2 counts a text as starting a line when the tag before it swallowed a newline.
            bool lineStart = pos == 0;
            if (trimNextStart)
            {
                var trimmed = text.TrimStart();
                lineStart = trimmed.Length < text.Length && text[text.Length - trimmed.Length - 1] == '\n';
                text = trimmed;
            }
            else if (dropNextNewline && text.StartsWith('\n'))
            {
                text = text[1..];
                lineStart = true;
            }
            trimNextStart = dropNextNewline = false;
            if (open < 0)
            {
                AddText(tokens, text, line);
                break;
            }
            var kind = source[open + 1] switch { '%' => TagKind.Block, '{' => TagKind.Output, _ => TagKind.Comment };
            char modifier = open + 2 < source.Length ? source[open + 2] : ' ';
            if (modifier == '-') text = text.TrimEnd();
            else if (kind != TagKind.Output && modifier != '+') text = LstripBlock(text, lineStart);
            AddText(tokens, text, line);
            line += source.AsSpan(pos, open - pos).Count('\n');

            int inner = open + 2 + (modifier is '-' or '+' ? 1 : 0);
            string closer = kind switch { TagKind.Block => "%}", TagKind.Output => "}}", _ => "#}" };
            int close = kind == TagKind.Comment ? source.IndexOf(closer, inner, StringComparison.Ordinal) : FindCloser(source, inner, closer);
            if (close < 0) throw new TemplateSyntaxException($"line {line}: a tag opened here is never closed with '{closer}'");
            int innerEnd = close;
            char endModifier = close > inner ? source[close - 1] : ' ';
            if (endModifier is '-' or '+') innerEnd--;
            trimNextStart = endModifier == '-';
            dropNextNewline = kind != TagKind.Output && endModifier != '+';
            var body = source[inner..innerEnd];
            pos = close + 2;

            if (kind == TagKind.Block && IsRaw(body))
            {
                int end = FindEndRaw(source, pos, out int afterEnd, out bool trimBefore, out bool trimAfter);
                if (end < 0) throw new TemplateSyntaxException($"line {line}: {{% raw %}} without {{% endraw %}}");
                var raw = source[pos..end];
                if (trimNextStart) raw = raw.TrimStart();
                else if (dropNextNewline && raw.StartsWith('\n')) raw = raw[1..];
                if (trimBefore) raw = raw.TrimEnd();
                AddText(tokens, raw, line);
                trimNextStart = trimAfter;
                dropNextNewline = !trimAfter;
                line += source.AsSpan(open, afterEnd - open).Count('\n');
                pos = afterEnd;
                continue;
            }
            if (kind != TagKind.Comment)
            {
                tokens.Add(new Token(kind == TagKind.Block ? TokenKind.BlockStart : TokenKind.OutputStart, "", line));
                TokenizeExpression(body, line, tokens);
                tokens.Add(new Token(kind == TagKind.Block ? TokenKind.BlockEnd : TokenKind.OutputEnd, "", line));
            }
            line += source.AsSpan(open, pos - open).Count('\n');
        }
        tokens.Add(new Token(TokenKind.End, "", line));
        return tokens;
    }

    static void AddText(List<Token> tokens, string text, int line)
    {
        if (text.Length > 0) tokens.Add(new Token(TokenKind.Text, text, line));
    }

    static int NextTag(string s, int from)
    {
        for (int i = s.IndexOf('{', from); i >= 0 && i + 1 < s.Length; i = s.IndexOf('{', i + 1))
            if (s[i + 1] is '{' or '%' or '#') return i;
        return -1;
    }

    /// <summary>lstrip_blocks: spaces and tabs between the start of a line and a block tag go.</summary>
    static string LstripBlock(string text, bool startsLine)
    {
        int lineStart = text.LastIndexOf('\n') + 1;
        if (lineStart == 0 && !startsLine) return text;
        for (int i = lineStart; i < text.Length; i++)
            if (text[i] is not (' ' or '\t')) return text;
        return text[..lineStart];
    }

    /// <summary>The closing delimiter of a tag, skipping string literals that may contain it.</summary>
    static int FindCloser(string s, int from, string closer)
    {
        char quote = '\0';
        int braces = 0;
        for (int i = from; i < s.Length; i++)
        {
            char c = s[i];
            if (quote != '\0')
            {
                if (c == '\\') i++;
                else if (c == quote) quote = '\0';
            }
            else if (c is '\'' or '"') quote = c;
            else if (braces == 0 && string.CompareOrdinal(s, i, closer, 0, 2) == 0) return i;
            else if (c == '{') braces++;
            else if (c == '}' && braces > 0) braces--;
        }
        return -1;
    }

    static bool IsRaw(string body) => body.Trim() == "raw";

    static int FindEndRaw(string s, int from, out int afterEnd, out bool trimBefore, out bool trimAfter)
    {
        afterEnd = -1; trimBefore = trimAfter = false;
        for (int i = s.IndexOf("{%", from, StringComparison.Ordinal); i >= 0; i = s.IndexOf("{%", i + 2, StringComparison.Ordinal))
        {
            int close = s.IndexOf("%}", i + 2, StringComparison.Ordinal);
            if (close < 0) return -1;
            var body = s[(i + 2)..close];
            bool before = body.StartsWith('-'), after = body.EndsWith('-');
            if (body.Trim('-', '+', ' ', '\t', '\n') != "endraw") continue;
            afterEnd = close + 2;
            trimBefore = before;
            trimAfter = after;
            return i;
        }
        return -1;
    }

    static void TokenizeExpression(string body, int line, List<Token> tokens)
    {
        int i = 0;
        while (i < body.Length)
        {
            char c = body[i];
            if (char.IsWhiteSpace(c)) { if (c == '\n') line++; i++; continue; }
            if (char.IsLetter(c) || c == '_')
            {
                int start = i;
                while (i < body.Length && (char.IsLetterOrDigit(body[i]) || body[i] == '_')) i++;
                tokens.Add(new Token(TokenKind.Name, body[start..i], line));
                continue;
            }
            if (char.IsAsciiDigit(c))
            {
                tokens.Add(Number(body, ref i, line));
                continue;
            }
            if (c is '\'' or '"')
            {
                tokens.Add(new Token(TokenKind.String, StringLiteral(body, ref i, line), line));
                continue;
            }
            var op = Operators.FirstOrDefault(o => string.CompareOrdinal(body, i, o, 0, o.Length) == 0)
                ?? throw new TemplateSyntaxException($"line {line}: unexpected character '{c}'");
            tokens.Add(new Token(TokenKind.Operator, op, line));
            i += op.Length;
        }
    }

    static Token Number(string s, ref int i, int line)
    {
        int start = i;
        bool isFloat = false;
        while (i < s.Length && (char.IsAsciiDigit(s[i]) || s[i] == '_')) i++;
        if (i + 1 < s.Length && s[i] == '.' && char.IsAsciiDigit(s[i + 1]))
        {
            isFloat = true;
            i++;
            while (i < s.Length && (char.IsAsciiDigit(s[i]) || s[i] == '_')) i++;
        }
        if (i < s.Length && s[i] is 'e' or 'E')
        {
            int save = i++;
            if (i < s.Length && s[i] is '+' or '-') i++;
            if (i < s.Length && char.IsAsciiDigit(s[i]))
            {
                isFloat = true;
                while (i < s.Length && char.IsAsciiDigit(s[i])) i++;
            }
            else i = save;
        }
        return new Token(isFloat ? TokenKind.Float : TokenKind.Integer, s[start..i].Replace("_", ""), line);
    }

    /// <summary>A quoted literal with Python's escapes (jinja2 decodes them as `unicode-escape`).</summary>
    static string StringLiteral(string s, ref int i, int line)
    {
        char quote = s[i++];
        var sb = new StringBuilder();
        while (true)
        {
            if (i >= s.Length) throw new TemplateSyntaxException($"line {line}: unterminated string literal");
            char c = s[i++];
            if (c == quote) return sb.ToString();
            if (c != '\\' || i >= s.Length) { sb.Append(c); continue; }
            char e = s[i++];
            switch (e)
            {
                case 'n': sb.Append('\n'); break;
                case 't': sb.Append('\t'); break;
                case 'r': sb.Append('\r'); break;
                case 'b': sb.Append('\b'); break;
                case 'f': sb.Append('\f'); break;
                case 'v': sb.Append('\v'); break;
                case 'a': sb.Append('\a'); break;
                case '\\': sb.Append('\\'); break;
                case '\'': sb.Append('\''); break;
                case '"': sb.Append('"'); break;
                case '\n': break;
                case 'x': sb.Append(Hex(s, ref i, 2, line)); break;
                case 'u': sb.Append(Hex(s, ref i, 4, line)); break;
                case 'U': sb.Append(Hex(s, ref i, 8, line)); break;
                case >= '0' and <= '7':
                    int start = i - 1, end = start;
                    while (end < s.Length && end < start + 3 && s[end] is >= '0' and <= '7') end++;
                    sb.Append((char)Convert.ToInt32(s[start..end], 8));
                    i = end;
                    break;
                default: sb.Append('\\').Append(e); break;
            }
        }
    }

    static string Hex(string s, ref int i, int digits, int line)
    {
        if (i + digits > s.Length || !int.TryParse(s.AsSpan(i, digits), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out int code))
            throw new TemplateSyntaxException($"line {line}: bad \\x/\\u escape in a string literal");
        i += digits;
        return char.ConvertFromUtf32(code);
    }
}
