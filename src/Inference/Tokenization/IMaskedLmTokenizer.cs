namespace Service.Inference.Tokenization;

/// <summary>
/// The tokenizer of a masked LM. In request text, the literal `[MASK]` means the model's mask
/// token for every model (XLM-R's own `&lt;mask&gt;` is accepted too).
/// </summary>
public interface IMaskedLmTokenizer
{
    string MaskToken { get; }
    int MaskId { get; }
    int PadId { get; }
    int UnknownId { get; }
    int VocabSize { get; }
    /// <summary>Longest sequence the tokenizer config allows (model_max_length), or null when unset.</summary>
    int? ModelMaxLength { get; }

    /// <summary>Token ids with the model's special tokens added and masks as <see cref="MaskId"/>.</summary>
    int[] Encode(string text);

    /// <summary>Ids of a word or phrase as it reads mid-sentence, no special tokens.</summary>
    int[] EncodeWord(string word);

    /// <summary>The id of a vocabulary entry spelled exactly so (`##s`, `▁Paris`), as HF's `get_vocab()[token]`.</summary>
    int? TokenId(string token);

    /// <summary>One token as Hugging Face's `decode([id])` shows it (e.g. `##ing` for WordPiece).</summary>
    string TokenString(int id);

    /// <summary>Text of a token sequence as Hugging Face's fast tokenizer `decode(ids, skip_special_tokens)`,
    /// with `clean_up_tokenization_spaces` as the tokenizer config sets it.</summary>
    string Decode(IReadOnlyList<int> ids, bool skipSpecialTokens);

    /// <summary>One of HF's `all_special_ids` (unknown token included).</summary>
    bool IsSpecial(int id);
}

public static class MaskMarkers
{
    /// <summary>The mask marker every request may use, whatever the model.</summary>
    public const string Generic = "[MASK]";

    /// <summary>Splits text at mask markers: n masks give n + 1 segments.</summary>
    public static string[] Split(string text, string modelMaskToken) =>
        modelMaskToken == Generic
            ? text.Split(Generic)
            : text.Replace(modelMaskToken, Generic, StringComparison.Ordinal).Split(Generic);

    /// <summary>Hugging Face's `clean_up_tokenization`: no space before punctuation and English contractions.</summary>
    public static string CleanUpSpaces(string text) => text
        .Replace(" .", ".").Replace(" ?", "?").Replace(" !", "!").Replace(" ,", ",")
        .Replace(" ' ", "'").Replace(" n't", "n't").Replace(" 'm", "'m").Replace(" 's", "'s")
        .Replace(" 've", "'ve").Replace(" 're", "'re");
}
