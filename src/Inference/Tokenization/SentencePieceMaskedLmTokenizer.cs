using System.Text.Json;
using Microsoft.ML.Tokenizers;

namespace Service.Inference.Tokenization;

/// <summary>
/// XLM-R's tokenizer: the SentencePiece model in `sentencepiece.bpe.model` with fairseq's id layout
/// (as Hugging Face's XLMRobertaTokenizer): `&lt;s&gt;`=0, `&lt;pad&gt;`=1, `&lt;/s&gt;`=2, `&lt;unk&gt;`=3,
/// every other piece at its SentencePiece id + 1, and `&lt;mask&gt;` last.
/// </summary>
public sealed class SentencePieceMaskedLmTokenizer : IMaskedLmTokenizer
{
    const int FairseqOffset = 1;
    const int Bos = 0, Pad = 1, Eos = 2, Unk = 3;

    readonly SentencePieceTokenizer _tokenizer;
    readonly string[] _pieces; // SentencePiece id -> piece

    public string MaskToken => "<mask>";
    public int MaskId { get; }
    public int PadId => Pad;
    public int VocabSize => MaskId + 1;
    public int? ModelMaxLength { get; }

    SentencePieceMaskedLmTokenizer(SentencePieceTokenizer tokenizer, int? modelMaxLength)
    {
        _tokenizer = tokenizer;
        _pieces = new string[tokenizer.Vocabulary.Count];
        foreach (var (piece, id) in tokenizer.Vocabulary) _pieces[id] = piece;
        MaskId = _pieces.Length + FairseqOffset;
        ModelMaxLength = modelMaxLength;
    }

    public static SentencePieceMaskedLmTokenizer Load(string modelFile, JsonElement? tokenizerConfig)
    {
        using var stream = File.OpenRead(modelFile);
        var tokenizer = SentencePieceTokenizer.Create(stream, addBeginningOfSentence: false, addEndOfSentence: false);
        return new SentencePieceMaskedLmTokenizer(tokenizer, WordPieceMaskedLmTokenizer.MaxLength(tokenizerConfig));
    }

    public int[] Encode(string text)
    {
        var ids = new List<int> { Bos };
        var segments = MaskMarkers.Split(text, MaskToken);
        for (int s = 0; s < segments.Length; s++)
        {
            if (s > 0) ids.Add(MaskId);
            // `<mask>` is an lstrip token in XLM-R: it swallows the spaces before it.
            var segment = s + 1 < segments.Length ? segments[s].TrimEnd() : segments[s];
            if (segment.Length > 0) ids.AddRange(EncodeWord(segment));
        }
        ids.Add(Eos);
        return [.. ids];
    }

    public int[] EncodeWord(string word) =>
        [.. _tokenizer.EncodeToIds(word, addBeginningOfSentence: false, addEndOfSentence: false)
            .Select(spmId => spmId == _tokenizer.UnknownId ? Unk : spmId + FairseqOffset)];

    public string TokenString(int id) => Decode([id]);

    public bool IsSpecial(int id) => id is Bos or Pad or Eos || id == MaskId;

    public string Decode(IReadOnlyList<int> ids)
    {
        var pieces = ids.Where(id => id == MaskId || !IsSpecial(id)).Select(Piece);
        return MaskMarkers.CleanUpSpaces(string.Concat(pieces).Replace('\u2581', ' ')).Trim();
    }

    string Piece(int id) => id switch
    {
        Unk => "<unk>",
        _ when id == MaskId => " <mask>",
        _ => _pieces[id - FairseqOffset],
    };
}
