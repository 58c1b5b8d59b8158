using System.Globalization;
using System.Text;

namespace Service.Inference.Tokenization;

/// <summary>
/// BERT's text normalization and word splitting as Hugging Face's fast tokenizer does it
/// (`BertNormalizer` then `BertPreTokenizer` of the Rust `tokenizers` library, which the fill-mask
/// pipeline uses), written by hand because no maintained .NET library matches it: Microsoft.ML's
/// BertTokenizer keeps tabs inside words and turns typed `[CLS]` into a special token.
/// </summary>
public sealed class BertTextSplitter(bool lowerCase, bool stripAccents, bool splitCjk)
{
    /// <summary>The words WordPiece then splits: normalized text cut at whitespace, punctuation and CJK ideographs kept alone.</summary>
    public List<string> Split(string text)
    {
        var normalized = Normalize(text);
        var words = new List<string>();
        var word = new StringBuilder();
        foreach (var rune in normalized.EnumerateRunes())
        {
            if (Rune.IsWhiteSpace(rune))
            {
                Flush(word, words);
            }
            else if (IsPunctuation(rune) || (splitCjk && IsCjkIdeograph(rune)))
            {
                Flush(word, words);
                words.Add(rune.ToString());
            }
            else
            {
                Append(word, rune);
            }
        }
        Flush(word, words);
        return words;
    }

    /// <summary>BertNormalizer: clean_text, CJK padding (done in <see cref="Split"/>), strip_accents, lowercase, in that order.</summary>
    public string Normalize(string text)
    {
        var cleaned = new StringBuilder(text.Length);
        foreach (var rune in text.EnumerateRunes())
        {
            // Control and other "C*" characters (also a lone surrogate, which enumerates as U+FFFD) are dropped;
            // tab, newline, carriage return and every other Unicode White_Space character become a plain space.
            if (rune.Value is 0 or 0xFFFD || IsControl(rune)) continue;
            Append(cleaned, Rune.IsWhiteSpace(rune) ? new Rune(' ') : rune);
        }
        var clean = cleaned.ToString();
        if (!stripAccents && !lowerCase) return clean;
        if (stripAccents) clean = clean.Normalize(NormalizationForm.FormD);
        var result = new StringBuilder(clean.Length);
        foreach (var rune in clean.EnumerateRunes())
        {
            if (stripAccents && Rune.GetUnicodeCategory(rune) == UnicodeCategory.NonSpacingMark) continue;
            if (!lowerCase) Append(result, rune);
            // Rust's char::to_lowercase: the full mapping, whose only one-to-many case is U+0130 (İ -> i + combining dot).
            else if (rune.Value == 0x130) result.Append("i\u0307");
            else Append(result, Rune.ToLowerInvariant(rune));
        }
        return result.ToString();
    }

    static void Append(StringBuilder builder, Rune rune)
    {
        Span<char> utf16 = stackalloc char[2];
        builder.Append(utf16[..rune.EncodeToUtf16(utf16)]);
    }

    static bool IsControl(Rune rune) => rune.Value is not ('\t' or '\n' or '\r') && Rune.GetUnicodeCategory(rune) is
        UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.Surrogate or UnicodeCategory.PrivateUse or UnicodeCategory.OtherNotAssigned;

    /// <summary>ASCII punctuation (33-47, 58-64, 91-96, 123-126, so also $ + &lt; = &gt; ^ ` | ~) or any Unicode P* character.</summary>
    public static bool IsPunctuation(Rune rune) =>
        rune.Value is >= 33 and <= 47 or >= 58 and <= 64 or >= 91 and <= 96 or >= 123 and <= 126
        || Rune.GetUnicodeCategory(rune) is UnicodeCategory.ConnectorPunctuation or UnicodeCategory.DashPunctuation
            or UnicodeCategory.OpenPunctuation or UnicodeCategory.ClosePunctuation or UnicodeCategory.InitialQuotePunctuation
            or UnicodeCategory.FinalQuotePunctuation or UnicodeCategory.OtherPunctuation;

    /// <summary>The CJK blocks of the Rust BertNormalizer (its extension-E range starts at U+2B920, not Python's U+2B820).</summary>
    public static bool IsCjkIdeograph(Rune rune) => rune.Value is
        >= 0x4E00 and <= 0x9FFF or >= 0x3400 and <= 0x4DBF or >= 0x20000 and <= 0x2A6DF or >= 0x2A700 and <= 0x2B73F
        or >= 0x2B740 and <= 0x2B81F or >= 0x2B920 and <= 0x2CEAF or >= 0xF900 and <= 0xFAFF or >= 0x2F800 and <= 0x2FA1F;

    static void Flush(StringBuilder word, List<string> words)
    {
        if (word.Length == 0) return;
        words.Add(word.ToString());
        word.Clear();
    }
}
