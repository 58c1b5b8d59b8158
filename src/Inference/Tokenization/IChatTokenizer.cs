namespace Service.Inference.Chat;

/// <summary>
/// The tokenizer of a chat model. Text is always encoded as text: a user who types `&lt;|im_end|&gt;`
/// gets the ids of those characters, never the special token; special tokens enter a prompt only
/// as ids, through <see cref="SpecialTokenId"/>.
/// </summary>
public interface IChatTokenizer
{
    /// <summary>Ids of plain text, no special tokens added.</summary>
    int[] Encode(string text);

    /// <summary>Text of ids, special tokens dropped; an incomplete UTF-8 character at the end decodes as U+FFFD.</summary>
    string Decode(IReadOnlyList<int> ids);

    /// <summary>The id of a special (added) token, or null when the tokenizer has no such token.</summary>
    int? SpecialTokenId(string token);

    /// <summary>The id the tokenizer puts before every encoded text (Llama's BOS), or null.</summary>
    int? BeginningOfSequenceId { get; }

    /// <summary>The tokenizer config's eos_token, or null.</summary>
    int? EndOfSequenceId { get; }

    /// <summary>Ids the tokenizer puts after every encoded prompt (ChatGLM's [gMASK] &lt;sop&gt;).</summary>
    IReadOnlyList<int> EndOfPromptIds => [];
}
