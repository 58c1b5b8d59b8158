using Service.Inference.FillMask;
using Service.Inference.Models;
using Service.Tests.Support;
using TorchSharp;
using static TorchSharp.torch;

namespace Service.Tests.Inference.FillMask;

/// <summary>
/// Our BERT / XLM-R against the independent float64 PyTorch reference of tests/fixtures/reference.py,
/// on checkpoints in the Hugging Face format (F32 single file, BF16 sharded with legacy names, F16).
/// </summary>
public sealed class MaskedLmParityTests
{
    const double Tolerance = 1e-5;

    public static TheoryData<string> MaskedLms => [.. Fixtures.MaskedLms];

    /// <summary>Every fixture under each fill-mask runtime: ONNX Runtime must give the reference's answers too.</summary>
    public static TheoryData<string, string> MaskedLmsByRuntime
    {
        get
        {
            var data = new TheoryData<string, string>();
            foreach (var fixture in Fixtures.MaskedLms)
                foreach (var runtime in Fixtures.FillMaskRuntimes) data.Add(fixture, runtime);
            return data;
        }
    }

    static MaskedLmBundle Load(string name) => MaskedLanguageModelLoader.Load(Fixtures.Dir(name), torch.CPU, ScalarType.Float32);

    [Theory, MemberData(nameof(MaskedLms))]
    public void Tokenizer_matches_the_reference_tokenization(string fixture)
    {
        var bundle = Load(fixture);
        foreach (var c in Fixtures.Expected(fixture).Cases)
            Assert.Equal(c.InputIds, bundle.Tokenizer.Encode(c.Text));
    }

    [Theory, MemberData(nameof(MaskedLms))]
    public void Probabilities_at_every_mask_match_the_reference(string fixture)
    {
        using var bundle = new DisposableBundle(Load(fixture));
        foreach (var c in Fixtures.Expected(fixture).Cases)
        {
            using var scope = torch.NewDisposeScope();
            using var mode = torch.inference_mode();
            var ids = torch.tensor(c.InputIds.Select(i => (long)i).ToArray(), [1, c.InputIds.Length]);
            var hidden = bundle.Model.Encode(ids, torch.ones_like(ids));
            for (int m = 0; m < c.MaskPositions.Length; m++)
            {
                var probs = bundle.Model.PredictTokens(hidden[0, c.MaskPositions[m]].unsqueeze(0)).softmax(-1)[0].to(ScalarType.Float64).data<double>().ToArray();
                Assert.Equal(c.ProbsAtMasks[m].Length, probs.Length);
                var worst = probs.Zip(c.ProbsAtMasks[m], (a, b) => Math.Abs(a - b)).Max();
                Assert.True(worst < Tolerance, $"{fixture} '{c.Text}' mask {m}: max |p - p_ref| = {worst:E2}");
            }
        }
    }

    [Theory, MemberData(nameof(MaskedLmsByRuntime))]
    public void Fill_mask_returns_the_reference_top_ids_and_scores(string fixture, string runtime)
    {
        var bundle = Fixtures.LoadMaskedLm(fixture, runtime);
        var engine = new FillMaskEngine(bundle, new FillMaskOptions());
        foreach (var c in Fixtures.Expected(fixture).Cases)
        {
            var result = engine.Run([engine.Prepare(new FillMaskQuery(c.Text, TopK: c.TopIds[0].Length))])[0];
            Assert.Equal(c.MaskPositions, result.Masks.Select(m => m.Position));
            Assert.Equal(c.InputIds.Length, result.PromptTokens);
            for (int m = 0; m < c.MaskPositions.Length; m++)
            {
                var predictions = result.Masks[m].Predictions;
                Assert.Equal(c.TopIds[m], predictions.Select(p => p.Token));
                foreach (var p in predictions)
                    Assert.True(Math.Abs(p.Score - c.ProbsAtMasks[m][p.Token]) < Tolerance, $"{fixture} '{c.Text}' token {p.Token}: {p.Score} vs {c.ProbsAtMasks[m][p.Token]}");
            }
        }
    }

    [Theory, MemberData(nameof(MaskedLmsByRuntime))]
    public void A_padded_batch_equals_single_requests_and_the_reference(string fixture, string runtime)
    {
        var expected = Fixtures.Expected(fixture).PaddedBatch!;
        var engine = new FillMaskEngine(Fixtures.LoadMaskedLm(fixture, runtime), new FillMaskOptions());
        var queries = expected.Texts.Select(t => engine.Prepare(new FillMaskQuery(t, TopK: 20))).ToArray();
        Assert.NotEqual(queries[0].InputIds.Length, queries[1].InputIds.Length); // padding is really exercised
        var batched = engine.Run(queries);
        for (int q = 0; q < queries.Length; q++)
        {
            var single = engine.Run([queries[q]])[0];
            for (int m = 0; m < single.Masks.Count; m++)
            {
                var b = batched[q].Masks[m].Predictions;
                var s = single.Masks[m].Predictions;
                Assert.Equal(s.Select(p => p.Token), b.Select(p => p.Token));
                Assert.All(s.Zip(b), pair => Assert.True(Math.Abs(pair.First.Score - pair.Second.Score) < 1e-6));
                Assert.All(b, p => Assert.True(Math.Abs(p.Score - expected.ProbsAtMasks[q][m][p.Token]) < Tolerance));
            }
        }
    }

    [Theory, MemberData(nameof(Runtimes))]
    public void A_request_leaves_no_live_tensors_behind(string runtime)
    {
        var engine = new FillMaskEngine(Fixtures.LoadMaskedLm("bert-tiny", runtime), new FillMaskOptions());
        var query = engine.Prepare(new FillMaskQuery(Fixtures.Expected("bert-tiny").Cases[0].Text));
        engine.Run([query]); // first call may create lazily cached tensors
        long before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        for (int i = 0; i < 5; i++) engine.Run([query]);
        Assert.Equal(before, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }

    public static TheoryData<string> Runtimes => [.. Fixtures.FillMaskRuntimes];

    sealed class DisposableBundle(MaskedLmBundle bundle) : IDisposable
    {
        public IMaskedLanguageModel Model => bundle.Model;
        public void Dispose() => bundle.Model.Dispose();
    }
}
