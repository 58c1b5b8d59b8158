using Service.Inference.FillMask;
using Service.Inference.Models;
using Service.Tests.Inference.Tokenization;
using Service.Tests.Support;
using TorchSharp;

namespace Service.Tests.Inference.FillMask;

/// <summary>
/// Every field of a fill-mask answer against transformers' FillMaskPipeline.postprocess and
/// get_target_ids, rebuilt here from their rules over independent parts: ids and decodes from
/// Hugging Face's tokenizers (<see cref="HfOracle"/>), probabilities from the float64 PyTorch
/// reference of tests/fixtures (expected.json). The rules: top_k of the softmax at each mask
/// (restricted to the target ids when given, top_k capped by their number); the mask replaced by
/// the prediction, padding ids removed, then `sequence` = decode(skip_special_tokens = single mask)
/// and `token_str` = decode([id]); a target is `get_vocab()[target]`, else the first id of
/// `tokenizer(target, add_special_tokens=False)`, duplicates dropped.
/// </summary>
public sealed class FillMaskPipelineParityTests
{
    const double Tolerance = 1e-5;
    const int TopK = 5;
    const int TopKOverTargets = 10; // more than the distinct targets: capped to their number, so the pad target shows too

    /// <summary>Targets per fixture: vocabulary entries (`##s`, `▁Paris`, pads), words that tokenize to one piece, duplicates.</summary>
    public static TheoryData<string, string[]> Targets => new()
    {
        { "bert-tiny", ["##s", "France", "Paris", "Germany", "[PAD]", "##en", " France ", "Berlin"] },
        { "bert-tiny-bf16-sharded", ["##s", "france", "FRANCE", "Paris", "paris", "[PAD]", "germany", "Österreich"] },
        { "xlmr-tiny", ["▁France", "France", "s", "▁Paris", "<pad>", "▁Berlin", "en", "Germany"] },
    };

    static MaskedLmBundle Load(string fixture) => MaskedLanguageModelLoader.Load(Fixtures.Dir(fixture), torch.CPU, torch.ScalarType.Float32);

    sealed record PipelineAnswer(int Token, double Score, int[] Sequence, bool SingleMask);

    [Theory]
    [InlineData("bert-tiny")]
    [InlineData("bert-tiny-bf16-sharded")]
    [InlineData("xlmr-tiny")]
    public void Every_field_equals_the_pipeline_without_targets(string fixture)
    {
        var bundle = Load(fixture);
        var engine = new FillMaskEngine(bundle, new FillMaskOptions());
        using var oracle = HfOracle.For(fixture);
        var cases = Fixtures.Expected(fixture).Cases;
        Assert.Contains(cases, c => c.MaskPositions.Length > 1);

        var expected = new List<List<PipelineAnswer>>(); // per case and mask, flattened per case
        foreach (var c in cases)
        {
            var inputIds = oracle.Encode(c.Text);
            Assert.Equal(c.InputIds, inputIds);
            var perCase = new List<PipelineAnswer>();
            for (int m = 0; m < c.MaskPositions.Length; m++)
                foreach (var id in TopIds(c.ProbsAtMasks[m], Enumerable.Range(0, c.ProbsAtMasks[m].Length), TopK))
                    perCase.Add(Fill(inputIds, c.MaskPositions[m], id, c.ProbsAtMasks[m][id], c.MaskPositions.Length == 1, bundle.Tokenizer.PadId));
            expected.Add(perCase);
        }
        var decoded = Decode(oracle, expected.SelectMany(e => e));

        for (int i = 0; i < cases.Count; i++)
        {
            var result = engine.Run([engine.Prepare(new FillMaskQuery(cases[i].Text, TopK))])[0];
            Assert.Equal(cases[i].MaskPositions, result.Masks.Select(m => m.Position));
            AssertFields(fixture, expected[i], [.. result.Masks.SelectMany(m => m.Predictions)], decoded);
        }
    }

    [Theory, MemberData(nameof(Targets))]
    public void Every_field_equals_the_pipeline_with_targets(string fixture, string[] targets)
    {
        var bundle = Load(fixture);
        var engine = new FillMaskEngine(bundle, new FillMaskOptions());
        using var oracle = HfOracle.For(fixture);
        var lookups = oracle.VocabularyIds(targets);
        var targetIds = targets.Select((t, k) => lookups[k] ?? FirstPiece(oracle, t)).Distinct().ToArray();
        Assert.Contains(targets, t => oracle.VocabularyIds([t])[0] is null); // the tokenize-first-piece path is exercised

        var expected = new List<List<PipelineAnswer>>();
        var cases = Fixtures.Expected(fixture).Cases.Where(c => c.MaskPositions.Length == 1).ToList();
        foreach (var c in cases)
            expected.Add([.. TopIds(c.ProbsAtMasks[0], targetIds, TopKOverTargets)
                .Select(id => Fill(c.InputIds, c.MaskPositions[0], id, c.ProbsAtMasks[0][id], singleMask: true, bundle.Tokenizer.PadId))]);
        var decoded = Decode(oracle, expected.SelectMany(e => e));

        for (int i = 0; i < cases.Count; i++)
        {
            var result = engine.Run([engine.Prepare(new FillMaskQuery(cases[i].Text, TopKOverTargets, targets))])[0];
            var predictions = Assert.Single(result.Masks).Predictions;
            Assert.All(predictions, p => Assert.Null(p.Tokens)); // single-token targets: no whole-word ranking
            AssertFields(fixture, expected[i], [.. predictions], decoded);
        }
    }

    static int FirstPiece(HfOracle oracle, string target)
    {
        var ids = oracle.Encode(target); // with the special tokens around it
        Assert.True(ids.Length == 3, $"target '{target}' should be one token for this test; it is {ids.Length - 2}");
        return ids[1];
    }

    static IEnumerable<int> TopIds(double[] probabilities, IEnumerable<int> candidates, int k) =>
        candidates.OrderByDescending(id => probabilities[id]).Take(k);

    static PipelineAnswer Fill(int[] inputIds, int position, int id, double score, bool singleMask, int padId)
    {
        var tokens = (int[])inputIds.Clone();
        tokens[position] = id;
        return new PipelineAnswer(id, score, [.. tokens.Where(t => t != padId)], singleMask);
    }

    /// <summary>The strings of every answer: `token_str` and `sequence`, keyed by the ids decoded.</summary>
    static Dictionary<string, string> Decode(HfOracle oracle, IEnumerable<PipelineAnswer> answers)
    {
        var all = answers.ToList();
        var kept = all.Where(a => !a.SingleMask).Select(a => a.Sequence).Concat(all.Select(a => new[] { a.Token })).ToList();
        var decoded = new Dictionary<string, string>();
        foreach (var (ids, text) in kept.Zip(oracle.DecodeKeepingSpecialTokens(kept)))
            decoded[Key(ids, skipSpecialTokens: false)] = text;
        foreach (var a in all.Where(a => a.SingleMask))
            decoded[Key(a.Sequence, skipSpecialTokens: true)] = oracle.DecodeSkippingSpecialTokens(a.Sequence);
        return decoded;
    }

    static string Key(int[] ids, bool skipSpecialTokens) => $"{skipSpecialTokens}:{string.Join(',', ids)}";

    static void AssertFields(string fixture, List<PipelineAnswer> expected, List<TokenPrediction> actual, Dictionary<string, string> decoded)
    {
        Assert.Equal(expected.Select(e => e.Token), actual.Select(a => a.Token));
        foreach (var (e, a) in expected.Zip(actual))
        {
            Assert.True(Math.Abs(e.Score - a.Score) < Tolerance, $"{fixture} token {e.Token}: score {a.Score} vs {e.Score}");
            Assert.Equal(decoded[Key([e.Token], skipSpecialTokens: false)], a.TokenStr);
            Assert.Equal(decoded[Key(e.Sequence, skipSpecialTokens: e.SingleMask)], a.Sequence);
        }
    }
}
