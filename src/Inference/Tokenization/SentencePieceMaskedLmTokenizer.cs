using System.Text;
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
    const int FirstOrdinaryPiece = 3; // SentencePiece's <unk>, <s>, </s> are replaced by the fairseq ids above
    const string Metaspace = "\u2581";

    readonly SentencePieceTokenizer _tokenizer;
    readonly string[] _pieces; // SentencePiece id -> piece
    readonly Dictionary<string, int> _pieceIds;
    readonly bool _cleanUpSpaces;

    public string MaskToken => "<mask>";
    public int MaskId { get; }
    public int PadId => Pad;
    public int UnknownId => Unk;
    public int VocabSize => MaskId + 1;
    public int? ModelMaxLength { get; }

    SentencePieceMaskedLmTokenizer(SentencePieceTokenizer tokenizer, int? modelMaxLength, bool cleanUpSpaces)
    {
        _tokenizer = tokenizer;
        _pieces = new string[tokenizer.Vocabulary.Count];
        _pieceIds = new Dictionary<string, int>(tokenizer.Vocabulary, StringComparer.Ordinal);
        foreach (var (piece, id) in tokenizer.Vocabulary) _pieces[id] = piece;
        _cleanUpSpaces = cleanUpSpaces;
        MaskId = _pieces.Length + FairseqOffset;
        ModelMaxLength = modelMaxLength;
    }

    public static SentencePieceMaskedLmTokenizer Load(string modelFile, JsonElement? tokenizerConfig)
    {
        using var stream = File.OpenRead(modelFile);
        var tokenizer = SentencePieceTokenizer.Create(stream, addBeginningOfSentence: false, addEndOfSentence: false);
        // Unlike BertTokenizer, XLMRobertaTokenizer sets no default: transformers' base default (false) applies.
        return new SentencePieceMaskedLmTokenizer(tokenizer, WordPieceMaskedLmTokenizer.MaxLength(tokenizerConfig),
            WordPieceMaskedLmTokenizer.Bool(tokenizerConfig, "clean_up_tokenization_spaces") ?? false);
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

    public int[] EncodeWord(string word)
    {
        var ids = new List<int>();
        foreach (var spmId in _tokenizer.EncodeToIds(word, addBeginningOfSentence: false, addEndOfSentence: false))
        {
            int id = spmId == _tokenizer.UnknownId ? Unk : spmId + FairseqOffset;
            // SentencePiece and HF's Unigram fuse a run of unknown characters into one <unk>; Microsoft.ML does not.
            if (id == Unk && ids.Count > 0 && ids[^1] == Unk) continue;
            ids.Add(id);
        }
        return [.. ids];
    }

    public int? TokenId(string token) => token switch
    {
        "<s>" => Bos, "<pad>" => Pad, "</s>" => Eos, "<unk>" => Unk,
        _ when token == MaskToken => MaskId,
        _ => _pieceIds.TryGetValue(token, out var spmId) && spmId >= FirstOrdinaryPiece ? spmId + FairseqOffset : null,
    };

    public string TokenString(int id) => Decode([id], skipSpecialTokens: false);

    public bool IsSpecial(int id) => id is Bos or Pad or Eos or Unk || id == MaskId;

    /// <summary>
    /// Hugging Face's Metaspace decoder: `▁` becomes a space, except in the first token kept, where it
    /// is dropped; tokens are concatenated (special ones too, without spaces around them); then the
    /// text is cleaned when `clean_up_tokenization_spaces` is set.
    /// </summary>
    public string Decode(IReadOnlyList<int> ids, bool skipSpecialTokens)
    {
        var text = new StringBuilder();
        int kept = 0;
        foreach (var id in ids)
        {
            if (skipSpecialTokens && IsSpecial(id)) continue;
            var piece = Piece(id);
            text.Append(kept++ == 0 ? piece.Replace(Metaspace, "") : piece.Replace(Metaspace, " "));
        }
        return _cleanUpSpaces ? MaskMarkers.CleanUpSpaces(text.ToString()) : text.ToString();
    }

    string Piece(int id) => id switch
    {
        Bos => "<s>", Pad => "<pad>", Eos => "</s>", Unk => "<unk>",
        _ when id == MaskId => MaskToken,
        _ => _pieces[id - FairseqOffset],
    };
}
