using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;
using Service.Inference.Checkpoints;

namespace Service.Inference.Chat;

/// <summary>
/// A byte-level BPE `tokenizer.json` (Qwen2, Llama 3, GPT-2 style) on Microsoft.ML.Tokenizers' BPE:
/// the pre-tokenizer regex, vocabulary and merges come from the file; added tokens (`&lt;|im_end|&gt;`,
/// `&lt;|eot_id|&gt;`, ...) are kept out of the BPE so that text can never turn into them.
/// </summary>
public sealed class ByteLevelBpeTokenizer : IChatTokenizer
{
    /// <summary>GPT-2's pattern, used when the ByteLevel pre-tokenizer splits by itself (use_regex).</summary>
    const string Gpt2Pattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    readonly BpeTokenizer _bpe;
    readonly Dictionary<int, string> _tokens = [];   // id -> byte-level token string
    readonly Dictionary<string, int> _added = [];    // special / added token content -> id
    readonly HashSet<int> _special = [];
    readonly Dictionary<int, string> _addedText = []; // added tokens that are not special decode as their text
    readonly bool _nfc;

    public int? BeginningOfSequenceId { get; }
    public int? EndOfSequenceId { get; }

    ByteLevelBpeTokenizer(JsonElement root, JsonElement? config, string source)
    {
        var model = root.GetProperty("model");
        if (model.TryGetProperty("type", out var type) && type.GetString() != "BPE")
            throw new CheckpointException($"{source}: model type '{type.GetString()}' is not BPE.");
        foreach (var added in root.TryGetProperty("added_tokens", out var a) ? a.EnumerateArray() : Enumerable.Empty<JsonElement>())
        {
            int id = added.GetProperty("id").GetInt32();
            var content = added.GetProperty("content").GetString()!;
            _added[content] = id;
            if (added.TryGetProperty("special", out var s) && s.GetBoolean()) _special.Add(id);
            else _addedText[id] = content;
        }
        var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var entry in model.GetProperty("vocab").EnumerateObject())
        {
            int id = entry.Value.GetInt32();
            if (_added.ContainsKey(entry.Name)) continue;
            vocab[entry.Name] = id;
            _tokens[id] = entry.Name;
        }
        _nfc = root.TryGetProperty("normalizer", out var n) && n.ValueKind == JsonValueKind.Object && n.GetProperty("type").GetString() == "NFC";
        _bpe = BpeTokenizer.Create(new BpeOptions(vocab)
        {
            Merges = model.GetProperty("merges").EnumerateArray().Select(Merge).ToList(),
            ByteLevel = true,
            PreTokenizer = new RegexPreTokenizer(new Regex(PreTokenizerPattern(root, source), RegexOptions.Compiled), null),
        });
        BeginningOfSequenceId = AddsBos(root, config) is { } bos ? Id(bos) : null;
        EndOfSequenceId = TokenContent(config, "eos_token") is { } eos ? Id(eos) : null;
    }

    public static ByteLevelBpeTokenizer Load(string tokenizerJson, string? tokenizerConfigJson)
    {
        using var doc = CheckpointDirectory.ReadJson(tokenizerJson) ?? throw new CheckpointException($"{tokenizerJson} does not exist.");
        using var config = tokenizerConfigJson is null ? null : CheckpointDirectory.ReadJson(tokenizerConfigJson);
        try
        {
            return new ByteLevelBpeTokenizer(doc.RootElement, config?.RootElement, tokenizerJson);
        }
        catch (Exception e) when (e is KeyNotFoundException or InvalidOperationException or ArgumentException)
        {
            throw new CheckpointException($"{tokenizerJson} is not a byte-level BPE tokenizer this service reads: {e.Message}");
        }
    }

    public int[] Encode(string text) =>
        text.Length == 0 ? [] : [.. _bpe.EncodeToIds(_nfc ? text.Normalize(NormalizationForm.FormC) : text)];

    public string Decode(IReadOnlyList<int> ids)
    {
        var bytes = new List<byte>(ids.Count * 2);
        foreach (var id in ids)
        {
            if (_special.Contains(id)) continue;
            if (_addedText.TryGetValue(id, out var text)) bytes.AddRange(Encoding.UTF8.GetBytes(text));
            else if (_tokens.TryGetValue(id, out var token)) bytes.AddRange(token.Select(ByteLevelAlphabet.Byte));
        }
        return Encoding.UTF8.GetString(bytes.ToArray());
    }

    public int? SpecialTokenId(string token) => _added.TryGetValue(token, out var id) ? id : null;

    int Id(string token) => _added.TryGetValue(token, out var id) ? id
        : _tokens.FirstOrDefault(t => t.Value == token) is { Value: not null } t ? t.Key
        : throw new CheckpointException($"the tokenizer config names '{token}', which tokenizer.json does not define.");

    static string Merge(JsonElement merge) => merge.ValueKind == JsonValueKind.Array
        ? $"{merge[0].GetString()} {merge[1].GetString()}" // newer files store pairs
        : merge.GetString()!;

    /// <summary>The Split regex of the pre-tokenizer (alone or in a Sequence), or GPT-2's for a regex-using ByteLevel.</summary>
    /// <summary>
    /// Hugging Face's Split with behavior "Isolated" keeps the text between matches as pieces too
    /// (BLOOM's pattern leaves punctuation unmatched); a regex pre-tokenizer keeps only matches,
    /// so the gaps get an alternative of their own: a run of characters where no match starts.
    /// </summary>
    internal static string IsolatedSplit(string pattern) => $"(?:{pattern})|(?:(?!(?:{pattern}))[\\s\\S])+";

    /// <summary>
    /// Oniguruma (tokenizers' regex engine) nests character classes: `[^(\s|[.,])]` excludes `.` and `,`.
    /// .NET reads the inner `[` as a literal and closes the class early, so nested classes are merged
    /// into their parent: `[^(\s|.,)]`.
    /// </summary>
    internal static string FlattenNestedClasses(string pattern)
    {
        var result = new StringBuilder(pattern.Length);
        int depth = 0;
        for (int i = 0; i < pattern.Length; i++)
        {
            char c = pattern[i];
            if (c == '\\' && i + 1 < pattern.Length)
            {
                result.Append(c).Append(pattern[++i]);
                continue;
            }
            if (c == '[')
            {
                if (++depth > 1) continue;                 // an inner class opens: its members join the outer one
                result.Append(c);
                if (i + 1 < pattern.Length && pattern[i + 1] == '^') result.Append(pattern[++i]);
                continue;
            }
            if (c == ']' && depth > 0 && --depth > 0) continue; // an inner class closes
            result.Append(c);
        }
        return result.ToString();
    }

    static string PreTokenizerPattern(JsonElement root, string source)
    {
        var pre = root.GetProperty("pre_tokenizer");
        var steps = pre.GetProperty("type").GetString() == "Sequence" ? pre.GetProperty("pretokenizers").EnumerateArray().ToList() : [pre];
        foreach (var step in steps)
        {
            var kind = step.GetProperty("type").GetString();
            if (kind == "Split" && step.GetProperty("pattern").TryGetProperty("Regex", out var regex))
                return IsolatedSplit(FlattenNestedClasses(regex.GetString()!));
            if (kind == "ByteLevel" && (!step.TryGetProperty("use_regex", out var use) || use.GetBoolean())) return Gpt2Pattern;
        }
        throw new CheckpointException($"{source}: the pre_tokenizer has neither a Split regex nor a regex-using ByteLevel step.");
    }

    /// <summary>The BOS to put before text: tokenizer_config's add_bos_token, or the post-processor's template.</summary>
    static string? AddsBos(JsonElement root, JsonElement? config)
    {
        if (config is { } c && c.TryGetProperty("add_bos_token", out var add) && add.ValueKind is JsonValueKind.True or JsonValueKind.False)
            return add.GetBoolean() ? TokenContent(config, "bos_token") : null;
        if (root.TryGetProperty("post_processor", out var post) && post.ValueKind == JsonValueKind.Object)
        {
            var processors = post.GetProperty("type").GetString() == "Sequence" ? post.GetProperty("processors").EnumerateArray().ToList() : [post];
            foreach (var p in processors)
                if (p.GetProperty("type").GetString() == "TemplateProcessing" && p.GetProperty("single")[0].TryGetProperty("SpecialToken", out var first))
                    return first.GetProperty("id").GetString();
        }
        return null;
    }

    /// <summary>A token named in tokenizer_config.json, as a string or as {"content": ...}.</summary>
    static string? TokenContent(JsonElement? config, string key) =>
        config is { } c && c.TryGetProperty(key, out var v)
            ? v.ValueKind switch
            {
                JsonValueKind.String => v.GetString(),
                JsonValueKind.Object when v.TryGetProperty("content", out var content) => content.GetString(),
                _ => null,
            }
            : null;
}

/// <summary>GPT-2's byte-to-character table: every byte gets a printable character.</summary>
public static class ByteLevelAlphabet
{
    static readonly Dictionary<char, byte> ToByte = Build();

    public static byte Byte(char c) => ToByte.TryGetValue(c, out var b) ? b : (byte)'?';

    static Dictionary<char, byte> Build()
    {
        var printable = Enumerable.Range('!', '~' - '!' + 1).Concat(Enumerable.Range('¡', '¬' - '¡' + 1)).Concat(Enumerable.Range('®', 'ÿ' - '®' + 1)).ToHashSet();
        var map = new Dictionary<char, byte>();
        int shifted = 0;
        for (int b = 0; b < 256; b++)
            map[(char)(printable.Contains(b) ? b : 256 + shifted++)] = (byte)b;
        return map;
    }
}
