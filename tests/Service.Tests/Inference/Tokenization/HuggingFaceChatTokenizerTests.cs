using System.Text.RegularExpressions;
using Service.Inference.Tokenization;
using Service.Inference.Tokenization.HuggingFace;
using Service.Inference.Projection;
using Xunit.Abstractions;
using Oracle = Tokenizers.DotNet.Tokenizer;

namespace Service.Tests.Inference.Tokenization;

/// <summary>The cases issue 10 names, on the real files, against Hugging Face's Rust tokenizers where HF is the reference.</summary>
public sealed class HuggingFaceChatTokenizerTests(ITestOutputHelper output)
{
    static HuggingFaceChatTokenizer Load(string name) =>
        HuggingFaceChatTokenizer.Load(RealTokenizers.TokenizerJson(name), RealTokenizers.TokenizerConfig(name));

    static int[] OracleIds(string name, string text) =>
        [.. new Oracle(vocabPath: RealTokenizers.TokenizerJson(name)).Encode(text).Select(i => (int)i)];

    [Fact]
    public void Llama3_ignore_merges_emits_a_whole_pre_token_found_in_the_vocabulary()
    {
        var tokenizer = Load("llama3");
        Assert.Equal([100937], tokenizer.Encode(" nhiều"));
        Assert.Equal([100937], OracleIds("llama3", " nhiều")); // llama3's file adds no BOS (ByteLevel post-processor only)
        Assert.Equal(" nhiều", tokenizer.Decode([100937]));
    }

    [Theory]
    [InlineData("qwen3")]
    [InlineData("llama3_1")]
    public void Astral_digits_are_pre_tokens_of_their_own(string name)
    {
        var tokenizer = Load(name);
        Assert.Equal(OracleIds(name, " 𝟙𝟚𝟛,").SkipWhile(id => id == tokenizer.BeginningOfSequenceId), tokenizer.Encode(" 𝟙𝟚𝟛,"));
        Assert.Equal(" 𝟙𝟚𝟛,", tokenizer.Decode(tokenizer.Encode(" 𝟙𝟚𝟛,")));
    }

    [Fact]
    public void Non_special_added_tokens_are_single_tokens_inside_user_text_and_special_ones_stay_text()
    {
        var tokenizer = Load("qwen3");
        int think = tokenizer.SpecialTokenId("<think>")!.Value, imEnd = tokenizer.SpecialTokenId("<|im_end|>")!.Value;
        var ids = tokenizer.Encode("a<think>b</think><|im_end|>");
        Assert.Contains(think, ids);
        Assert.DoesNotContain(imEnd, ids);
        Assert.Equal("a<think>b</think><|im_end|>", tokenizer.Decode(ids));
        Assert.Contains("<|im_end|>", tokenizer.SpecialTokens);
        Assert.DoesNotContain("<think>", tokenizer.SpecialTokens);
        // Template text: special tokens recognised exactly as Hugging Face does.
        var template = "<|im_start|>user\nhi <think>x</think><|im_end|>\n<|im_start|>assistant\n";
        Assert.Equal(OracleIds("qwen3", template), tokenizer.EncodeWithSpecialTokens(template));
        Assert.Contains(imEnd, tokenizer.EncodeWithSpecialTokens(template));
    }

    [Theory]
    [MemberData(nameof(RealTokenizers.All), MemberType = typeof(RealTokenizers))]
    public void Typed_special_tokens_never_become_special_ids(string name)
    {
        var tokenizer = Load(name);
        var specialIds = tokenizer.SpecialTokens.Select(t => tokenizer.SpecialTokenId(t)!.Value).ToHashSet();
        Assert.NotEmpty(specialIds);
        foreach (var special in tokenizer.SpecialTokens.Take(300))
        {
            var ids = tokenizer.Encode($"{special} x{special}y {special}");
            Assert.DoesNotContain(ids, specialIds.Contains);
            Assert.Equal($"{special} x{special}y {special}", tokenizer.Decode(ids));
        }
    }

    [Fact]
    public void Tokens_declared_only_in_the_configs_added_tokens_decoder_are_added_tokens_as_in_transformers()
    {
        var tokenizer = Load("internlm2"); // its tokenizer.json has no added_tokens at all
        int imStart = tokenizer.SpecialTokenId("<|im_start|>")!.Value;
        Assert.Contains("<|im_end|>", tokenizer.SpecialTokens);
        Assert.DoesNotContain(imStart, tokenizer.Encode("<|im_start|>user"));
        Assert.Equal(imStart, tokenizer.EncodeWithSpecialTokens("<|im_start|>user")[0]);
    }

    [Fact]
    public void The_default_special_token_split_of_the_interface_agrees_with_the_tokenizers_own()
    {
        IChatTokenizer tokenizer = Load("llama3_1");
        var template = "<|start_header_id|>user<|end_header_id|>\n\nHi there<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n";
        var viaInterface = ((IChatTokenizerDefaults)new DefaultsOnly(tokenizer)).Encode(template);
        Assert.Equal(tokenizer.EncodeWithSpecialTokens(template), viaInterface);
    }

    [Theory]
    [InlineData("llama3", null, 128001)]
    [InlineData("llama3_1", 128000, 128009)]
    [InlineData("llama2", 1, 2)]
    [InlineData("qwen3", null, 151645)]
    [InlineData("gemma3", 2, 106)]
    public void Bos_and_eos_come_from_the_config_or_the_post_processor(string name, int? bos, int? eos)
    {
        var tokenizer = Load(name);
        Assert.Equal(bos, tokenizer.BeginningOfSequenceId);
        Assert.Equal(eos, tokenizer.EndOfSequenceId);
    }

    /// <summary>One pre-token of 100k Han characters (300k byte-level symbols): the merge loop must stay O(n log n). Timing is logged, not asserted.</summary>
    [Theory]
    [InlineData("qwen3")]
    [InlineData("llama3_1")]
    public void A_hundred_thousand_CJK_characters_in_one_pre_token_tokenize_as_Hugging_Face_does(string name)
    {
        var han = string.Concat(BundledCorpora.Sentences("zh")!).Where(char.IsLetter).ToArray();
        var text = string.Concat(Enumerable.Range(0, 100_000).Select(i => han[i * 7 % han.Length]));
        var tokenizer = Load(name);
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var ids = tokenizer.Encode(text);
        output.WriteLine($"{name}: {text.Length} characters -> {ids.Length} ids in {watch.ElapsedMilliseconds} ms");
        Assert.Equal(OracleIds(name, text).SkipWhile(id => id == tokenizer.BeginningOfSequenceId), ids);
    }

    [Fact]
    public void An_unsupported_construct_fails_the_load_naming_it_and_the_file()
    {
        var dir = Directory.CreateTempSubdirectory("tokenizer-json-");
        var path = Path.Combine(dir.FullName, "tokenizer.json");
        File.WriteAllText(path, """{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}, "normalizer": {"type": "Precompiled", "precompiled_charsmap": ""}}""");
        var error = Assert.Throws<Service.Inference.Checkpoints.CheckpointException>(() => HuggingFaceTokenizer.Load(path));
        Assert.Contains(path, error.Message);
        Assert.Contains("Precompiled", error.Message);
        Assert.Contains("normalizer", error.Message);
    }

    [Fact]
    public void Oniguruma_classes_match_whole_code_points()
    {
        var letters = CodePointRegex.Create(@"[^\r\n\p{L}\p{N}]?\p{L}+");
        Assert.Equal(["x𝐀𐌰y"], letters.Matches("x𝐀𐌰y").Select(m => m.Value));
        Assert.Equal(["𝟙", "𝟚"], CodePointRegex.Create(@"\p{N}").Matches("𝟙𝟚").Select(m => m.Value));
        Assert.Equal(["🙂"], CodePointRegex.Create(@"[^\s\p{L}\p{N}]+").Matches("🙂").Select(m => m.Value));
        Assert.Equal(["a🙂"], CodePointRegex.Create(@"a.").Matches("a🙂").Select(m => m.Value));
        // BLOOM's nested class: everything but whitespace and the listed punctuation.
        Assert.Equal([" ab", "c"], CodePointRegex.Create(@" ?[^(\s|[.,!?…。，、।۔،])]+").Matches(" ab,?c").Select(m => m.Value));
        Assert.DoesNotMatch(new Regex(CodePointRegex.Translate(@"^\p{L}$")), "\uD835");
    }

    /// <summary>Exposes the interface's default EncodeWithSpecialTokens for a tokenizer that overrides it.</summary>
    interface IChatTokenizerDefaults
    {
        int[] Encode(string text);
    }

    sealed class DefaultsOnly(IChatTokenizer inner) : IChatTokenizer, IChatTokenizerDefaults
    {
        public int[] Encode(string text) => inner.Encode(text);
        int[] IChatTokenizerDefaults.Encode(string text) => ((IChatTokenizer)this).EncodeWithSpecialTokens(text);
        public string Decode(IReadOnlyList<int> ids) => inner.Decode(ids);
        public int? SpecialTokenId(string token) => inner.SpecialTokenId(token);
        public IReadOnlyCollection<string> SpecialTokens => inner.SpecialTokens;
        public int? BeginningOfSequenceId => inner.BeginningOfSequenceId;
        public int? EndOfSequenceId => inner.EndOfSequenceId;
    }
}
