namespace Service.Inference.Tokenization;

/// <summary>
/// The tokenizer of a chat model. Text is always encoded as text: a user who types `&lt;|im_end|&gt;`
/// gets the ids of those characters, never the special token; special tokens enter a prompt only
/// as ids, through <see cref="SpecialTokenId"/>, or from template text through <see cref="EncodeWithSpecialTokens"/>.
/// </summary>
public interface IChatTokenizer
{
    /// <summary>Ids of plain text, no special tokens added or recognised (non-special added tokens such as `&lt;think&gt;` are).</summary>
    int[] Encode(string text);

    /// <summary>
    /// Ids of TEMPLATE text (never user text) in which the special tokens of <see cref="SpecialTokens"/> are
    /// recognised: each occurrence (leftmost, longest first) becomes its id, the text between is encoded as by
    /// <see cref="Encode"/>. Tokenizers with Hugging Face semantics override this with their own matching.
    /// </summary>
    int[] EncodeWithSpecialTokens(string text)
    {
        var ids = new List<int>();
        int start = 0, position = 0;
        while (position < text.Length)
        {
            var match = SpecialTokens.Where(t => t.Length > 0 && string.CompareOrdinal(text, position, t, 0, t.Length) == 0)
                .OrderByDescending(t => t.Length).FirstOrDefault();
            if (match is null) { position++; continue; }
            if (position > start) ids.AddRange(Encode(text[start..position]));
            ids.Add(SpecialTokenId(match)!.Value);
            position += match.Length;
            start = position;
        }
        if (start < text.Length) ids.AddRange(Encode(text[start..]));
        return [.. ids];
    }

    /// <summary>Text of ids, special tokens dropped; an incomplete UTF-8 character at the end decodes as U+FFFD.</summary>
    string Decode(IReadOnlyList<int> ids);

    /// <summary>
    /// One token's text decoded alone, as Hugging Face's decoder gives it (a piece of a UTF-8 character is U+FFFD);
    /// a special token shows its content. What log-probabilities and guided output call a token's text.
    /// </summary>
    string TokenText(int id) => Decode([id]);

    /// <summary>The bytes one token adds to the reply: real bytes for pieces of a UTF-8 character, else its text's UTF-8.</summary>
    byte[] TokenBytes(int id) => System.Text.Encoding.UTF8.GetBytes(TokenText(id));

    /// <summary>The id of a special (added) token, or null when the tokenizer has no such token.</summary>
    int? SpecialTokenId(string token);

    /// <summary>The special tokens' texts (`&lt;|im_start|&gt;`, `&lt;|eot_id|&gt;`, ...): what only templates may produce.</summary>
    IReadOnlyCollection<string> SpecialTokens { get; }

    /// <summary>Every added token's text, special or not (`&lt;think&gt;` too): what a chat template's text is split at.</summary>
    IReadOnlyCollection<string> AddedTokenTexts => SpecialTokens;

    /// <summary>The id the tokenizer puts before every encoded text (Llama's BOS), or null.</summary>
    int? BeginningOfSequenceId { get; }

    /// <summary>The tokenizer config's eos_token, or null.</summary>
    int? EndOfSequenceId { get; }

    /// <summary>Ids the tokenizer puts after every encoded prompt (ChatGLM's [gMASK] &lt;sop&gt;).</summary>
    IReadOnlyList<int> EndOfPromptIds => [];
}
