using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;
using Service.Inference.Checkpoints;

namespace Service.Inference.Tokenization;

/// <summary>
/// ChatGLM-6B's tokenizer: the SentencePiece model `ice_text.model` behind ChatGLM's preprocessing
/// (newline as `&lt;n&gt;`, tab as `&lt;|tab|&gt;`, runs of 2-80 spaces as `&lt;|blank_n|&gt;`), ids shifted
/// by `num_image_tokens`, and `[gMASK] &lt;sop&gt;` after every prompt. The special pieces are
/// SentencePiece symbols that would match inside text; where a user typed one, its characters are
/// encoded one by one instead, so text never becomes a special token.
/// </summary>
public sealed partial class ChatGlmTokenizer : IChatTokenizer
{
    const int MaxBlank = 80;
    static readonly string[] Specials = ["[MASK]", "[gMASK]", "[sMASK]", "<unused_0>", "<sop>", "<eop>", "<ENC>", "<dBLOCK>"];

    readonly SentencePieceTokenizer _spm;
    readonly int _offset;
    readonly Dictionary<string, int> _pieceIds = [];
    readonly Dictionary<int, string> _special = []; // model id -> special token

    public int? BeginningOfSequenceId => null;
    public IReadOnlyCollection<string> SpecialTokens => _special.Values;
    public int? EndOfSequenceId { get; }
    /// <summary>ChatGLMTokenizer.build_inputs_with_special_tokens: [gMASK] then &lt;sop&gt;.</summary>
    public IReadOnlyList<int> EndOfPromptIds { get; }

    ChatGlmTokenizer(SentencePieceTokenizer spm, int offset, string source)
    {
        _spm = spm;
        _offset = offset;
        foreach (var (piece, id) in spm.Vocabulary) _pieceIds[piece] = id;
        foreach (var token in Specials)
            if (_pieceIds.TryGetValue(token, out var id)) _special[id + offset] = token;
        int Required(string token) => SpecialTokenId(token) ?? throw new CheckpointException($"{source} has no {token} piece, which ChatGLM prompts need.");
        EndOfPromptIds = [Required("[gMASK]"), Required("<sop>")];
        EndOfSequenceId = Required("<eop>");
    }

    public static ChatGlmTokenizer Load(string modelFile, string? tokenizerConfigJson)
    {
        using var config = tokenizerConfigJson is null ? null : CheckpointDirectory.ReadJson(tokenizerConfigJson);
        // ChatGLMTokenizer's default is 20000 image tokens before the text ids; later releases set 0.
        int offset = config is not null && config.RootElement.TryGetProperty("num_image_tokens", out var n) && n.ValueKind == JsonValueKind.Number ? n.GetInt32() : 20000;
        using var stream = File.OpenRead(modelFile);
        var spm = SentencePieceTokenizer.Create(stream, addBeginningOfSentence: false, addEndOfSentence: false);
        return new ChatGlmTokenizer(spm, offset, modelFile);
    }

    public int[] Encode(string text)
    {
        if (text.Length == 0) return [];
        var ids = new List<int>();
        foreach (var spmId in _spm.EncodeToIds(Preprocess(text)))
        {
            int id = spmId + _offset;
            if (_special.TryGetValue(id, out var typed)) ids.AddRange(typed.Select(c => (_pieceIds.TryGetValue(c.ToString(), out var p) ? p : _spm.UnknownId) + _offset));
            else ids.Add(id);
        }
        return [.. ids];
    }

    public string Decode(IReadOnlyList<int> ids)
    {
        var text = _spm.Decode(ids.Where(id => id >= _offset && !_special.ContainsKey(id)).Select(id => id - _offset)) ?? "";
        text = text.Replace("<n>", "\n").Replace("<|tab|>", "\t");
        return Blank().Replace(text, m => new string(' ', int.Parse(m.Groups[1].Value)));
    }

    public int? SpecialTokenId(string token) => _pieceIds.TryGetValue(token, out var id) && Specials.Contains(token) ? id + _offset : null;

    /// <summary>SPTokenizer._preprocess: newlines, tabs, then runs of spaces from the longest down.</summary>
    static string Preprocess(string text)
    {
        text = text.Replace("\n", "<n>").Replace("\t", "<|tab|>");
        for (int n = MaxBlank; n > 1; n--) text = text.Replace(new string(' ', n), $"<|blank_{n}|>");
        return text;
    }

    [GeneratedRegex(@"<\|blank_(\d+)\|>")]
    private static partial Regex Blank();
}
