using System.Collections.Concurrent;
using System.Text.Json;
using Service.Inference.Tokenization;
using Service.Tests.Support;

namespace Service.Tests.Inference.Tokenization;

/// <summary>
/// The fill-mask tokenizers against Hugging Face's own code (<see cref="HfOracle"/>) on the fixture
/// vocabularies: ids, decoding with and without special tokens, `token_str` of every id, and vocabulary lookups.
/// </summary>
public sealed class MaskedLmTokenizerOracleTests
{
    static readonly string LongWord = string.Concat(Enumerable.Repeat("ab", 51)); // 102 characters: [UNK] as a whole

    /// <summary>Inputs for both WordPiece fixtures (cased and uncased).</summary>
    public static readonly string[] BertInputs =
    [
        "Paris is the capital of [MASK].",
        "Paris is the capital of [MASK] .",
        "[MASK] is the capital of France.",
        "  [MASK]is the capital of France!",
        "The capital of [MASK] is [MASK].",
        "[MASK][MASK] , [MASK]",
        "paris\tis the capital of [MASK] .",
        "Paris\nis\r\nthe\u000Bcapital\u000Cof\u0085[MASK]\u2028!",
        "Paris\u00A0is\u3000the\u2003capital\u202Fof [MASK]\u205F.",
        "Par\u0000is is\u200B the cap\u00ADital\u0007 of\uFEFF [MASK]\uFFFD.",
        "Zürich liegt in der Schweiz, [MASK].",
        "ZÜRICH ist die STADT von [MASK]; Genève est la ville de [MASK].",
        "Die Hauptstadt von Österreich ist [MASK].",
        "Ze\u0301rich and Zu\u0308rich are [MASK].",
        "İstanbul is in [MASK].",
        "巴黎是法国的首都。[MASK]是中国的首都，北京。",
        "巴黎\U00020000\U0002B820\U0002B920\uF900是[MASK]",
        "In 1999 the capital of France was [MASK] (42% of 7,000).",
        "A$B+C<D=E>F^G`H|I~J_K@L#M&N*O [MASK]",
        "«Paris» — “the capital” of [MASK]… ¿no? ¡sí! [ok] {x}",
        "Qatar is a country, [MASK] says.",
        $"A {LongWord} is a [MASK].",
        "It isn't the capital , is it ? I'm sure it 's [MASK] ' s and we 've , they 're .",
        "[CLS] Paris [SEP] is the capital of [MASK] [PAD] [UNK].",
        "[mask] is not a mask but [MASK] is.",
    ];

    public static readonly string[] XlmRobertaInputs =
    [
        "Paris is the capital of [MASK].",
        "Paris is the capital of [MASK] .",
        "[MASK] ist die Hauptstadt von Deutschland.",
        "  Paris   is  the capital of   [MASK]  .  ",
        "The capital of [MASK] is [MASK].",
        "[MASK][MASK] , [MASK]",
        "Paris\tis the capital of [MASK].",
        "Zürich liegt in der Schweiz [MASK].",
        "巴黎是法国的首都。[MASK]是中国的首都。",
        "Qatar is a country, [MASK] says.",
        "In 1999 the capital was [MASK] (42%).",
        "The capital of Ω is [MASK] !",
        "<s> Paris </s> is the capital of [MASK] <pad> <unk>.",
    ];

    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (var fixture in new[] { "bert-tiny", "bert-tiny-bf16-sharded" })
            foreach (var input in BertInputs) data.Add(fixture, input);
        foreach (var input in XlmRobertaInputs) data.Add("xlmr-tiny", input);
        return data;
    }

    /// <summary>The tokenizer as the checkpoint loader builds it, without the weights.</summary>
    public static IMaskedLmTokenizer Tokenizer(string fixture)
    {
        var dir = Fixtures.Dir(fixture);
        using var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "tokenizer_config.json")));
        var spm = Path.Combine(dir, "sentencepiece.bpe.model");
        return File.Exists(spm)
            ? SentencePieceMaskedLmTokenizer.Load(spm, config.RootElement.Clone())
            : WordPieceMaskedLmTokenizer.Load(Path.Combine(dir, "vocab.txt"), config.RootElement.Clone());
    }

    [Theory, MemberData(nameof(Cases))]
    public void Ids_and_sequences_equal_Hugging_Faces(string fixture, string text)
    {
        var tokenizer = Tokenizer(fixture);
        using var oracle = HfOracle.For(fixture);
        // The oracle would read typed special-token names as special tokens; this service never does (they stay text).
        var typedSpecials = new[] { "[CLS]", "[SEP]", "[PAD]", "[UNK]", "<s>", "</s>", "<pad>", "<unk>" };
        if (typedSpecials.Any(text.Contains))
        {
            var ids = tokenizer.Encode(text);
            var inside = ids[1..^1];
            Assert.Equal(text.Split("[MASK]").Length - 1, inside.Count(id => id == tokenizer.MaskId));
            Assert.DoesNotContain(inside, id => tokenizer.IsSpecial(id) && id != tokenizer.MaskId && id != tokenizer.UnknownId);
            return;
        }

        var expected = oracle.Encode(text);
        var actual = tokenizer.Encode(text);
        Assert.Equal(expected, actual);
        Assert.Equal(oracle.DecodeSkippingSpecialTokens(expected), tokenizer.Decode(actual, skipSpecialTokens: true));
        Assert.Equal(KeptDecode(fixture, oracle, expected), tokenizer.Decode(actual, skipSpecialTokens: false));
    }

    // One node run per fixture decodes the ids of all its inputs.
    static readonly ConcurrentDictionary<string, Dictionary<string, string>> KeptDecodes = new();

    static string KeptDecode(string fixture, HfOracle oracle, int[] ids) => KeptDecodes.GetOrAdd(fixture, _ =>
    {
        var all = (fixture == "xlmr-tiny" ? XlmRobertaInputs : BertInputs).Select(oracle.Encode).ToList();
        return all.Zip(oracle.DecodeKeepingSpecialTokens(all)).GroupBy(p => string.Join(',', p.First)).ToDictionary(g => g.Key, g => g.First().Second);
    })[string.Join(',', ids)];

    [Fact]
    public void Clean_up_tokenization_spaces_defaults_as_transformers_when_the_config_omits_it()
    {
        using var empty = JsonDocument.Parse("{}");
        var bert = WordPieceMaskedLmTokenizer.Load(Path.Combine(Fixtures.Dir("bert-tiny"), "vocab.txt"), empty.RootElement);
        var xlmr = SentencePieceMaskedLmTokenizer.Load(Path.Combine(Fixtures.Dir("xlmr-tiny"), "sentencepiece.bpe.model"), empty.RootElement);
        Assert.Equal("paris is the capital of france.", bert.Decode(bert.Encode("Paris is the capital of France ."), skipSpecialTokens: true)); // BertTokenizer: true
        Assert.Equal("Paris is the capital of France .", xlmr.Decode(xlmr.Encode("Paris is the capital of France ."), skipSpecialTokens: true)); // base default: false
    }

    [Theory]
    [InlineData("bert-tiny")]
    [InlineData("bert-tiny-bf16-sharded")]
    [InlineData("xlmr-tiny")]
    public void Token_str_of_every_id_equals_decode_of_that_id(string fixture)
    {
        var tokenizer = Tokenizer(fixture);
        using var oracle = HfOracle.For(fixture);
        var ids = Enumerable.Range(0, tokenizer.VocabSize).ToArray();
        var expected = oracle.DecodeKeepingSpecialTokens([.. ids.Select(id => new[] { id })]);
        Assert.Equal(expected, ids.Select(tokenizer.TokenString));
        // And a few pairs: the decoder's rules between tokens (## glue, ▁ to space, specials without spaces).
        var pairs = ids.Where(id => id % 7 == 0).SelectMany(a => ids.Where(b => b % 11 == 3).Select(b => new[] { a, b })).ToArray();
        Assert.Equal(oracle.DecodeKeepingSpecialTokens(pairs), pairs.Select(p => tokenizer.Decode(p, skipSpecialTokens: false)));
        Assert.Equal(pairs.Select(oracle.DecodeSkippingSpecialTokens), pairs.Select(p => tokenizer.Decode(p, skipSpecialTokens: true)));
    }

    [Theory]
    [InlineData("bert-tiny", new[] { "##s", "Paris", "paris", "[MASK]", "[UNK]", "##stadt", "Quokka", "s", "" })]
    [InlineData("bert-tiny-bf16-sharded", new[] { "##s", "paris", "Paris", "zurich", "Zürich", "[PAD]", "##en" })]
    [InlineData("xlmr-tiny", new[] { "▁Paris", "Paris", "s", "▁", "<mask>", "<unk>", "<s>", "▁巴黎", "巴黎", "stadt" })]
    public void Vocabulary_lookup_equals_get_vocab(string fixture, string[] tokens)
    {
        var tokenizer = Tokenizer(fixture);
        using var oracle = HfOracle.For(fixture);
        Assert.Equal(oracle.VocabularyIds(tokens), tokens.Select(tokenizer.TokenId));
    }
}
