using System.Text.Json.Nodes;
using Service.Inference.Projection;
using Service.Inference.Tokenization.HuggingFace;
using Oracle = Tokenizers.DotNet.Tokenizer;

namespace Service.Tests.Inference.Tokenization;

/// <summary>
/// The tokenizer.json constructs the real files do not use (every Split behaviour, invert, Metaspace schemes,
/// Digits, Punctuation, Whitespace, normalizers, post-processors, added-token flags, subword prefix and
/// suffix, unknown fusing): each variant is a real file with one part replaced, checked against Hugging
/// Face's Rust tokenizers on the same texts.
/// </summary>
public sealed class TokenizerConstructOracleTests
{
    static readonly string[] Texts =
    [
        "Hello world, HELLO World! 123 4567 x1y22z", "  two  spaces   three\n\nnewlines\r\n", "Ｈｅｌｌｏ ﬁ ① 𝟙𝟚𝟛, café cafe\u0301 İ",
        "Tôi có nhiều câu hỏi. 我们今天去公园散步。", "emoji 👨‍👩‍👧 and\ttabs\t", " leading", "trailing ", "",
        "word<tool_call>word", "a <tool_call> b", "  <think>  spaced  </think>  ", "<think>start", "X <TOOL_RESPONSE> y <tool_response>",
        "<|im_start|>user<|im_end|>", "<tool> hi", "hi <tool> there", "<tool>",
    ];

    static IEnumerable<string> AllTexts() =>
        Texts.Concat(new[] { "en", "vi", "zh", "ar" }.SelectMany(l => BundledCorpora.Sentences(l)!.Take(30)));

    public static TheoryData<string> Variants() => [.. ByteLevelVariants.Keys.Concat(MetaspaceVariants.Keys).Concat(TinyVariants.Keys)];

    static JsonNode J(string json) => JsonNode.Parse(json)!;

    static JsonNode ByteLevelStep => J("""{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": false, "use_regex": false}""");

    static JsonNode SplitThenByteLevel(string pattern, string behavior, bool invert) =>
        J($$"""{"type": "Sequence", "pretokenizers": [{"type": "Split", "pattern": {{pattern}}, "behavior": "{{behavior}}", "invert": {{(invert ? "true" : "false")}}}, {{ByteLevelStep.ToJsonString()}}]}""");

    /// <summary>Variants of Qwen2.5's byte-level file: (part, replacement) pairs.</summary>
    static readonly Dictionary<string, (string Part, Func<JsonNode?> Node)[]> ByteLevelVariants = new()
    {
        ["gpt2-bytelevel-regex-prefix"] = [("pre_tokenizer", () => J("""{"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true}"""))],
        ["bytelevel-no-regex-no-split"] = [("pre_tokenizer", () => ByteLevelStep)],
        ["split-removed"] = [("pre_tokenizer", () => SplitThenByteLevel("""{"Regex": "\\s+"}""", "Removed", false))],
        ["split-isolated-invert"] = [("pre_tokenizer", () => SplitThenByteLevel("""{"Regex": "\\p{L}+"}""", "Isolated", true))],
        ["split-removed-invert"] = [("pre_tokenizer", () => SplitThenByteLevel("""{"Regex": "\\p{L}+|\\p{N}"}""", "Removed", true))],
        ["split-merged-previous"] = [("pre_tokenizer", () => SplitThenByteLevel("""{"String": " "}""", "MergedWithPrevious", false))],
        ["split-merged-next"] = [("pre_tokenizer", () => SplitThenByteLevel("""{"Regex": "\\s"}""", "MergedWithNext", false))],
        ["split-contiguous"] = [("pre_tokenizer", () => SplitThenByteLevel("""{"Regex": "[\\p{P}\\s]"}""", "Contiguous", false))],
        ["digits-punctuation"] = [("pre_tokenizer", () => J($$"""{"type": "Sequence", "pretokenizers": [{"type": "Digits", "individual_digits": true}, {"type": "Punctuation", "behavior": "Isolated"}, {{ByteLevelStep.ToJsonString()}}]}"""))],
        ["digits-contiguous-punctuation-merged"] = [("pre_tokenizer", () => J($$"""{"type": "Sequence", "pretokenizers": [{"type": "Digits", "individual_digits": false}, {"type": "Punctuation", "behavior": "MergedWithPrevious"}, {{ByteLevelStep.ToJsonString()}}]}"""))],
        ["whitespace"] = [("pre_tokenizer", () => J($$"""{"type": "Sequence", "pretokenizers": [{"type": "Whitespace"}, {{ByteLevelStep.ToJsonString()}}]}"""))],
        ["whitespace-split"] = [("pre_tokenizer", () => J($$"""{"type": "Sequence", "pretokenizers": [{"type": "WhitespaceSplit"}, {{ByteLevelStep.ToJsonString()}}]}"""))],
        ["nfkc-lowercase"] = [("normalizer", () => J("""{"type": "Sequence", "normalizers": [{"type": "NFKC"}, {"type": "Lowercase"}]}"""))],
        ["nfd-strip"] = [("normalizer", () => J("""{"type": "Sequence", "normalizers": [{"type": "NFD"}, {"type": "Strip", "strip_left": true, "strip_right": true}]}"""))],
        ["nfkd-replace-prepend"] = [("normalizer", () => J("""{"type": "Sequence", "normalizers": [{"type": "NFKD"}, {"type": "Replace", "pattern": {"Regex": "\\s+"}, "content": " "}, {"type": "Prepend", "prepend": "$"}]}"""))],
        ["roberta"] = [("post_processor", () => J("""{"type": "RobertaProcessing", "sep": ["<|endoftext|>", 151643], "cls": ["<|im_start|>", 151644], "trim_offsets": true, "add_prefix_space": false}"""))],
        ["bert"] = [("post_processor", () => J("""{"type": "BertProcessing", "sep": ["<|endoftext|>", 151643], "cls": ["<|im_start|>", 151644]}"""))],
        ["template-suffix"] = [("post_processor", () => J("""{"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<|im_start|>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "<|im_end|>", "type_id": 0}}], "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}], "special_tokens": {"<|im_start|>": {"id": "<|im_start|>", "ids": [151644], "tokens": ["<|im_start|>"]}, "<|im_end|>": {"id": "<|im_end|>", "ids": [151645], "tokens": ["<|im_end|>"]}}}"""))],
        ["added-token-flags"] = [("normalizer", () => J("""{"type": "Lowercase"}""")), ("added_tokens", () => null)],
    };

    /// <summary>Variants of Llama 2's Metaspace-style file (normalizer removed, a Metaspace pre-tokenizer and decoder instead).</summary>
    static readonly Dictionary<string, (string Part, Func<JsonNode?> Node)[]> MetaspaceVariants = new()
    {
        ["metaspace-first-nosplit"] = Metaspace("""{"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": false}"""),
        ["metaspace-always-split"] = Metaspace("""{"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": true}"""),
        ["metaspace-never-split"] = Metaspace("""{"type": "Metaspace", "replacement": "▁", "prepend_scheme": "never", "split": true}"""),
        ["metaspace-legacy-add-prefix-space"] = Metaspace("""{"type": "Metaspace", "replacement": "▁", "add_prefix_space": true}"""),
    };

    static (string, Func<JsonNode?>)[] Metaspace(string step) =>
    [
        ("normalizer", () => null), ("pre_tokenizer", () => J(step)),
        ("decoder", () => J($$"""{"type": "Sequence", "decoders": [{{step}}, {"type": "ByteFallback"}, {"type": "Fuse"}, {"type": "Strip", "content": " ", "start": 0, "stop": 1}]}""")),
        ("added_tokens", () => J("""[{"id": 0, "content": "<unk>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true}, {"id": 32000, "content": "<tool>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": false}]""")),
    ];

    /// <summary>Hand-made BPE files for the continuing-subword prefix, end-of-word suffix and unknown fusing.</summary>
    static readonly Dictionary<string, string> TinyVariants = new()
    {
        ["subword-prefix-unk-fused"] = Tiny("""{"[UNK]": 0, "a": 1, "b": 2, "c": 3, "##a": 4, "##b": 5, "##c": 6, "ab": 7, "##bc": 8, "abc": 9}""", """["a ##b", "##b ##c", "ab ##c"]""", "\"##\"", "null", true),
        ["word-suffix-unk-unfused"] = Tiny("""{"[UNK]": 0, "a": 1, "b": 2, "c": 3, "a</w>": 4, "b</w>": 5, "c</w>": 6, "ab</w>": 7, "ba": 8, "bab</w>": 9}""", """["a b</w>", "b a", "ba b</w>"]""", "null", "\"</w>\"", false),
    };

    static string Tiny(string vocab, string merges, string prefix, string suffix, bool fuse) => $$"""
        {"version": "1.0", "added_tokens": [], "normalizer": {"type": "Lowercase"}, "pre_tokenizer": {"type": "Whitespace"},
         "post_processor": null, "decoder": null,
         "model": {"type": "BPE", "dropout": null, "unk_token": "[UNK]", "continuing_subword_prefix": {{prefix}}, "end_of_word_suffix": {{suffix}},
                   "fuse_unk": {{(fuse ? "true" : "false")}}, "byte_fallback": false, "vocab": {{vocab}}, "merges": {{merges}} } }
        """;

    static readonly string[] TinyTexts = ["abc", "ab ba", "cab", "xyz abc", "axxb", "aaa bbb", "bab bab ba", "ABC x", "a-b_c", "c"];

    [Theory]
    [MemberData(nameof(Variants))]
    public void Variant_equals_Hugging_Faces(string variant)
    {
        var path = Path.Combine(Directory.CreateTempSubdirectory("tokenizer-variant-").FullName, "tokenizer.json");
        File.WriteAllText(path, Build(variant));
        var ours = HuggingFaceTokenizer.Load(path);
        var oracle = new Oracle(vocabPath: path);
        var failures = new List<string>();
        var texts = TinyVariants.ContainsKey(variant) ? TinyTexts : AllTexts();
        foreach (var text in texts)
        {
            var expected = oracle.Encode(text).Select(i => (int)i).ToArray();
            var actual = ours.Encode(text, recognizeSpecialTokens: true, addSpecialTokens: true);
            if (!expected.SequenceEqual(actual)) failures.Add($"encode {System.Text.Json.JsonSerializer.Serialize(text)}: HF [{string.Join(", ", expected)}], ours [{string.Join(", ", actual)}]");
            var expectedText = oracle.Decode([.. expected.Select(i => (uint)i)]);
            var actualText = ours.Decode(expected);
            if (expectedText != actualText) failures.Add($"decode {System.Text.Json.JsonSerializer.Serialize(text)}: HF {System.Text.Json.JsonSerializer.Serialize(expectedText)}, ours {System.Text.Json.JsonSerializer.Serialize(actualText)}");
        }
        Assert.True(failures.Count == 0, $"{variant}: {failures.Count} differences:\n" + string.Join("\n", failures.Take(10)));
    }

    static readonly Lazy<string> Qwen = new(() => File.ReadAllText(RealTokenizers.TokenizerJson("qwen2_5")));
    static readonly Lazy<string> Llama2 = new(() => File.ReadAllText(RealTokenizers.TokenizerJson("llama2")));

    static string Build(string variant)
    {
        if (TinyVariants.TryGetValue(variant, out var tiny)) return tiny;
        bool byteLevel = ByteLevelVariants.TryGetValue(variant, out var parts);
        var root = JsonNode.Parse(byteLevel ? Qwen.Value : Llama2.Value)!;
        foreach (var (part, node) in byteLevel ? parts! : MetaspaceVariants[variant])
            root[part] = node();
        if (variant == "added-token-flags") SetAddedTokenFlags(root);
        return root.ToJsonString();
    }

    /// <summary>`&lt;think&gt;` strips spaces on both sides, `&lt;tool_call&gt;` is a single word, `&lt;tool_response&gt;` is matched after normalization.</summary>
    static void SetAddedTokenFlags(JsonNode root)
    {
        root["added_tokens"] = JsonNode.Parse(JsonNode.Parse(Qwen.Value)!["added_tokens"]!.ToJsonString());
        foreach (var token in root["added_tokens"]!.AsArray())
        {
            switch ((string)token!["content"]!)
            {
                case "<think>" or "</think>": token["lstrip"] = true; token["rstrip"] = true; break;
                case "<tool_call>": token["single_word"] = true; break;
                case "<tool_response>": token["normalized"] = true; break;
            }
        }
    }
}
