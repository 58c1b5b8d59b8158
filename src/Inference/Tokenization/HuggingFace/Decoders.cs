using System.Text;
using System.Text.Json;

namespace Service.Inference.Tokenization.HuggingFace;

/// <summary>A `decoder` of tokenizer.json: tokenizers' decode_chain, token strings in, strings out.</summary>
public delegate List<string> Decoder(List<string> tokens);

/// <summary>ByteLevel, Metaspace, ByteFallback, Fuse, Strip, Replace and Sequence decoders.</summary>
public static class Decoders
{
    public static Decoder? Parse(JsonElement node, string source, string path = "decoder")
    {
        if (node.ValueKind == JsonValueKind.Null) return null;
        var type = TokenizerJson.Type(node, source, path);
        switch (type)
        {
            case "ByteLevel": return ByteLevel;
            case "ByteFallback": return ByteFallback;
            case "Fuse": return tokens => [string.Concat(tokens)];
            case "Metaspace":
                {
                    char r = (TokenizerJson.OptionalString(node, "replacement") ?? "▁")[0];
                    var scheme = TokenizerJson.OptionalString(node, "prepend_scheme") ?? (TokenizerJson.Flag(node, "add_prefix_space", true) ? "always" : "never");
                    // tokenizers drops every replacement character of the first token (not only a leading one).
                    return tokens => [.. tokens.Select((t, i) => i == 0 && scheme != "never" ? t.Replace(r.ToString(), "") : t.Replace(r, ' '))];
                }
            case "Strip":
                {
                    char content = node.GetProperty("content").GetString()![0];
                    int start = node.GetProperty("start").GetInt32(), stop = node.GetProperty("stop").GetInt32();
                    return tokens => [.. tokens.Select(t => Strip(t, content, start, stop))];
                }
            case "Replace":
                {
                    var regex = TokenizerJson.Pattern(node.GetProperty("pattern"), source, path);
                    var content = node.GetProperty("content").GetString()!.Replace("$", "$$");
                    return tokens => [.. tokens.Select(t => regex.Replace(t, content))];
                }
            case "Sequence":
                {
                    var steps = node.GetProperty("decoders").EnumerateArray()
                        .Select((n, i) => Parse(n, source, $"{path}.decoders[{i}]")).OfType<Decoder>().ToList();
                    return tokens =>
                    {
                        foreach (var step in steps) tokens = step(tokens);
                        return tokens;
                    };
                }
            default:
                throw TokenizerJson.Error(source, path, $"the decoder type '{type}' is not supported (supported: ByteLevel, Metaspace, ByteFallback, Fuse, Strip, Replace, Sequence)");
        }
    }

    /// <summary>Whether a decoder node is, or its Sequence contains, a decoder of this type.</summary>
    public static bool Uses(JsonElement node, string type) =>
        node.ValueKind == JsonValueKind.Object
        && (node.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String && t.GetString() == type
            || node.TryGetProperty("decoders", out var steps) && steps.ValueKind == JsonValueKind.Array && steps.EnumerateArray().Any(n => Uses(n, type)));

    /// <summary>Table characters back to bytes; a token with a character outside the table contributes its own UTF-8.</summary>
    static List<string> ByteLevel(List<string> tokens)
    {
        var bytes = new List<byte>();
        foreach (var token in tokens)
        {
            var mapped = new List<byte>(token.Length);
            bool inTable = true;
            foreach (var c in token)
            {
                if (ByteLevelAlphabet.Byte(c) is byte b) mapped.Add(b);
                else { inTable = false; break; }
            }
            bytes.AddRange(inTable ? mapped : Encoding.UTF8.GetBytes(token));
        }
        return [Encoding.UTF8.GetString([.. bytes])];
    }

    /// <summary>Runs of `&lt;0xAB&gt;` tokens become their UTF-8 text, or one U+FFFD per byte when invalid.</summary>
    static List<string> ByteFallback(List<string> tokens)
    {
        var result = new List<string>(tokens.Count);
        var pending = new List<byte>();
        void Flush()
        {
            if (pending.Count == 0) return;
            try
            {
                result.Add(new UTF8Encoding(false, throwOnInvalidBytes: true).GetString([.. pending]));
            }
            catch (DecoderFallbackException)
            {
                result.AddRange(Enumerable.Repeat("\uFFFD", pending.Count));
            }
            pending.Clear();
        }
        foreach (var token in tokens)
        {
            if (FallbackByte(token) is byte b)
                pending.Add(b);
            else
            {
                Flush();
                result.Add(token);
            }
        }
        Flush();
        return result;
    }

    /// <summary>The byte a byte-fallback token `&lt;0xAB&gt;` stands for, or null for any other token.</summary>
    public static byte? FallbackByte(string token) =>
        token.Length == 6 && token.StartsWith("<0x", StringComparison.Ordinal) && token[5] == '>'
        && byte.TryParse(token.AsSpan(3, 2), System.Globalization.NumberStyles.HexNumber, null, out var b) ? b : null;

    static string Strip(string token, char content, int start, int stop)
    {
        int from = 0, to = token.Length;
        while (from < start && from < to && token[from] == content) from++;
        for (int i = 0; i < stop && to > from && token[to - 1] == content; i++) to--;
        return token[from..to];
    }
}
