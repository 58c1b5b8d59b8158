using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Service.Inference.Tokenization.HuggingFace;

/// <summary>A `normalizer` of tokenizer.json: text in, text out (offsets are not needed here).</summary>
public delegate string Normalizer(string text);

/// <summary>NFC, NFD, NFKC, NFKD, Lowercase, Replace, Prepend, Strip and Sequence, as tokenizers applies them.</summary>
public static class Normalizers
{
    public static Normalizer? Parse(JsonElement node, string source, string path = "normalizer")
    {
        if (node.ValueKind == JsonValueKind.Null) return null;
        var type = TokenizerJson.Type(node, source, path);
        switch (type)
        {
            case "NFC": return t => t.Normalize(NormalizationForm.FormC);
            case "NFD": return t => t.Normalize(NormalizationForm.FormD);
            case "NFKC": return t => t.Normalize(NormalizationForm.FormKC);
            case "NFKD": return t => t.Normalize(NormalizationForm.FormKD);
            case "Lowercase": return Lowercase;
            case "Prepend":
                {
                    var prepend = node.GetProperty("prepend").GetString()!;
                    return t => t.Length == 0 ? t : prepend + t;
                }
            case "Replace":
                {
                    var regex = TokenizerJson.Pattern(node.GetProperty("pattern"), source, path);
                    var content = node.GetProperty("content").GetString()!;
                    return t => regex.Replace(t, content.Replace("$", "$$"));
                }
            case "Strip":
                {
                    bool left = TokenizerJson.Flag(node, "strip_left", true), right = TokenizerJson.Flag(node, "strip_right", true);
                    return t => left && right ? t.Trim() : left ? t.TrimStart() : right ? t.TrimEnd() : t;
                }
            case "Sequence":
                {
                    var steps = node.GetProperty("normalizers").EnumerateArray()
                        .Select((n, i) => Parse(n, source, $"{path}.normalizers[{i}]")).OfType<Normalizer>().ToList();
                    return t =>
                    {
                        foreach (var step in steps) t = step(t);
                        return t;
                    };
                }
            default:
                throw TokenizerJson.Error(source, path, $"the normalizer type '{type}' is not supported (supported: NFC, NFD, NFKC, NFKD, Lowercase, Replace, Prepend, Strip, Sequence)");
        }
    }

    /// <summary>Rust's char::to_lowercase per code point: full mappings, no context (so no final sigma).</summary>
    static string Lowercase(string text)
    {
        var builder = new StringBuilder(text.Length);
        foreach (var rune in text.EnumerateRunes())
        {
            if (rune.Value == 0x130) builder.Append("i\u0307"); // the one full (two-character) lowercase mapping
            else builder.Append(Rune.ToLowerInvariant(rune).ToString());
        }
        return builder.ToString();
    }
}
