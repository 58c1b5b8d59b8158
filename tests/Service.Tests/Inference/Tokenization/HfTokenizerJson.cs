using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Service.Tests.Inference.Tokenization;

/// <summary>
/// The `tokenizer.json` that transformers' convert_slow_tokenizer writes for a fixture's slow
/// tokenizer files (BertConverter for vocab.txt, XLMRobertaConverter for sentencepiece.bpe.model),
/// so Hugging Face's own tokenizers library can run on the fixture vocabularies as the oracle.
/// </summary>
public static class HfTokenizerJson
{
    public const string Metaspace = "\u2581";

    /// <summary>BertNormalizer + BertPreTokenizer + WordPiece + [CLS] $A [SEP], from vocab.txt and tokenizer_config.json.</summary>
    public static string Bert(string checkpointDir)
    {
        var vocab = File.ReadAllLines(Path.Combine(checkpointDir, "vocab.txt")).Where(line => line.Length > 0).ToArray();
        using var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(checkpointDir, "tokenizer_config.json")));
        var c = config.RootElement;
        bool lowercase = c.GetProperty("do_lower_case").GetBoolean();
        var vocabJson = new JsonObject();
        for (int i = 0; i < vocab.Length; i++) vocabJson[vocab[i]] = i;
        int Id(string token) => Array.IndexOf(vocab, token);
        var added = new JsonArray();
        foreach (var special in new[] { "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]" })
            added.Add(AddedToken(Id(special), special, lstrip: false));
        var root = new JsonObject
        {
            ["version"] = "1.0",
            ["truncation"] = null,
            ["padding"] = null,
            ["added_tokens"] = added,
            ["normalizer"] = new JsonObject
            {
                ["type"] = "BertNormalizer",
                ["clean_text"] = true,
                ["handle_chinese_chars"] = c.GetProperty("tokenize_chinese_chars").GetBoolean(),
                ["strip_accents"] = c.GetProperty("strip_accents").ValueKind == JsonValueKind.Null ? null : c.GetProperty("strip_accents").GetBoolean(),
                ["lowercase"] = lowercase,
            },
            ["pre_tokenizer"] = new JsonObject { ["type"] = "BertPreTokenizer" },
            ["post_processor"] = Template("[CLS]", Id("[CLS]"), "[SEP]", Id("[SEP]")),
            ["decoder"] = new JsonObject { ["type"] = "WordPiece", ["prefix"] = "##", ["cleanup"] = true },
            ["model"] = new JsonObject
            {
                ["type"] = "WordPiece",
                ["unk_token"] = "[UNK]",
                ["continuing_subword_prefix"] = "##",
                ["max_input_chars_per_word"] = 100,
                ["vocab"] = vocabJson,
            },
        };
        return root.ToJsonString();
    }

    /// <summary>
    /// Unigram over the SentencePiece pieces and scores with fairseq's ids (&lt;s&gt; &lt;pad&gt; &lt;/s&gt; &lt;unk&gt;,
    /// then pieces[3:], then &lt;mask&gt;, lstrip), SpmConverter's normalizer for a model without a
    /// character map (strip right, runs of spaces to one ▁), Metaspace pre-tokenizer and decoder.
    /// </summary>
    public static string XlmRoberta(string checkpointDir)
    {
        var pieces = SentencePieceModel.Pieces(Path.Combine(checkpointDir, "sentencepiece.bpe.model"));
        var vocab = new JsonArray(Entry("<s>", 0), Entry("<pad>", 0), Entry("</s>", 0), Entry("<unk>", 0));
        foreach (var (piece, score) in pieces.Skip(3)) vocab.Add(Entry(piece, score));
        int maskId = vocab.Count;
        vocab.Add(Entry("<mask>", 0));
        var added = new JsonArray(AddedToken(0, "<s>", false), AddedToken(1, "<pad>", false), AddedToken(2, "</s>", false),
            AddedToken(3, "<unk>", false), AddedToken(maskId, "<mask>", lstrip: true));
        var metaspace = () => new JsonObject { ["type"] = "Metaspace", ["replacement"] = Metaspace, ["prepend_scheme"] = "always", ["split"] = true };
        var root = new JsonObject
        {
            ["version"] = "1.0",
            ["truncation"] = null,
            ["padding"] = null,
            ["added_tokens"] = added,
            ["normalizer"] = new JsonObject
            {
                ["type"] = "Sequence",
                ["normalizers"] = new JsonArray(
                    new JsonObject { ["type"] = "Strip", ["strip_left"] = false, ["strip_right"] = true },
                    new JsonObject { ["type"] = "Replace", ["pattern"] = new JsonObject { ["Regex"] = " {2,}" }, ["content"] = Metaspace }),
            },
            ["pre_tokenizer"] = metaspace(),
            ["post_processor"] = Template("<s>", 0, "</s>", 2),
            ["decoder"] = metaspace(),
            ["model"] = new JsonObject { ["type"] = "Unigram", ["unk_id"] = 3, ["vocab"] = vocab, ["byte_fallback"] = false },
        };
        return root.ToJsonString();
    }

    static JsonArray Entry(string piece, double score) => new(piece, score);

    static JsonObject AddedToken(int id, string content, bool lstrip) => new()
    {
        ["id"] = id, ["content"] = content, ["single_word"] = false, ["lstrip"] = lstrip, ["rstrip"] = false,
        ["normalized"] = false, ["special"] = true,
    };

    static JsonObject Template(string cls, int clsId, string sep, int sepId) => new()
    {
        ["type"] = "TemplateProcessing",
        ["single"] = new JsonArray(
            new JsonObject { ["SpecialToken"] = new JsonObject { ["id"] = cls, ["type_id"] = 0 } },
            new JsonObject { ["Sequence"] = new JsonObject { ["id"] = "A", ["type_id"] = 0 } },
            new JsonObject { ["SpecialToken"] = new JsonObject { ["id"] = sep, ["type_id"] = 0 } }),
        ["pair"] = new JsonArray(
            new JsonObject { ["SpecialToken"] = new JsonObject { ["id"] = cls, ["type_id"] = 0 } },
            new JsonObject { ["Sequence"] = new JsonObject { ["id"] = "A", ["type_id"] = 0 } },
            new JsonObject { ["SpecialToken"] = new JsonObject { ["id"] = sep, ["type_id"] = 0 } },
            new JsonObject { ["Sequence"] = new JsonObject { ["id"] = "B", ["type_id"] = 1 } },
            new JsonObject { ["SpecialToken"] = new JsonObject { ["id"] = sep, ["type_id"] = 1 } }),
        ["special_tokens"] = new JsonObject
        {
            [cls] = new JsonObject { ["id"] = cls, ["ids"] = new JsonArray(clsId), ["tokens"] = new JsonArray(cls) },
            [sep] = new JsonObject { ["id"] = sep, ["ids"] = new JsonArray(sepId), ["tokens"] = new JsonArray(sep) },
        },
    };
}

/// <summary>Pieces and scores of a SentencePiece ModelProto (field 1, each with piece = 1, score = 2), read by hand: no protobuf package is needed for two fields.</summary>
public static class SentencePieceModel
{
    public static List<(string Piece, float Score)> Pieces(string file)
    {
        var bytes = File.ReadAllBytes(file);
        var pieces = new List<(string, float)>();
        int at = 0;
        while (at < bytes.Length)
        {
            var (field, wire) = Key(bytes, ref at);
            if (field == 1 && wire == 2)
            {
                int length = (int)Varint(bytes, ref at), end = at + length;
                string piece = "";
                float score = 0;
                while (at < end)
                {
                    var (f, w) = Key(bytes, ref at);
                    if (f == 1 && w == 2) { int n = (int)Varint(bytes, ref at); piece = Encoding.UTF8.GetString(bytes, at, n); at += n; }
                    else if (f == 2 && w == 5) { score = BitConverter.ToSingle(bytes, at); at += 4; }
                    else Skip(bytes, ref at, w);
                }
                pieces.Add((piece, score));
            }
            else Skip(bytes, ref at, wire);
        }
        return pieces;
    }

    static (int Field, int Wire) Key(byte[] b, ref int at) { var key = Varint(b, ref at); return ((int)(key >> 3), (int)(key & 7)); }

    static ulong Varint(byte[] b, ref int at)
    {
        ulong value = 0;
        for (int shift = 0; ; shift += 7)
        {
            byte next = b[at++];
            value |= (ulong)(next & 0x7F) << shift;
            if (next < 0x80) return value;
        }
    }

    static void Skip(byte[] b, ref int at, int wire)
    {
        switch (wire)
        {
            case 0: Varint(b, ref at); break;
            case 1: at += 8; break;
            case 2: int length = (int)Varint(b, ref at); at += length; break;
            case 5: at += 4; break;
            default: throw new InvalidDataException($"protobuf wire type {wire} at byte {at}");
        }
    }
}
