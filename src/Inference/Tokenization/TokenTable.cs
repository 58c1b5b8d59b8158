using System.Runtime.CompilerServices;

namespace Service.Inference.Tokenization;

/// <summary>
/// Every id's text decoded alone and its bytes (<see cref="IChatTokenizer.TokenText"/>, <see cref="IChatTokenizer.TokenBytes"/>),
/// computed once per tokenizer on first use: log-probabilities name tokens with them and guided output tests
/// every token's bytes at every step. Ids the tokenizer does not know (embedding rows past its vocabulary) are empty.
/// </summary>
public sealed class TokenTable
{
    static readonly ConditionalWeakTable<IChatTokenizer, TokenTable> Tables = new();

    TokenTable(IChatTokenizer tokenizer, int vocabSize)
    {
        Texts = new string[vocabSize];
        Bytes = new byte[vocabSize][];
        Dropped = new bool[vocabSize];
        for (int id = 0; id < vocabSize; id++)
        {
            Texts[id] = tokenizer.TokenText(id);
            Bytes[id] = tokenizer.TokenBytes(id);
            Dropped[id] = Bytes[id].Length > 0 && tokenizer.Decode([id]).Length == 0;
        }
    }

    /// <param name="vocabSize">The model's vocabulary (logits) size, which may exceed the tokenizer's; a tokenizer serves one model.</param>
    public static TokenTable For(IChatTokenizer tokenizer, int vocabSize) => Tables.GetValue(tokenizer, t => new TokenTable(t, vocabSize));

    public int Count => Texts.Length;
    public string[] Texts { get; }
    public byte[][] Bytes { get; }
    /// <summary>Ids with a name but no text in a reply: special tokens, which decoding drops.</summary>
    public bool[] Dropped { get; }
}
