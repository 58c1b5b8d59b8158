using Microsoft.Extensions.Logging.Abstractions;
using Service.Inference.Demo;
using Service.Inference.Models;
using Service.Inference.Models.Bert;
using Service.Inference.Models.Onnx;
using Service.Tests.Support;
using TorchSharp;
using static TorchSharp.torch;

namespace Service.Tests.Inference.Models.Onnx;

/// <summary>
/// The ONNX Runtime graph against the TorchSharp model it is built from (itself checked against the
/// float64 PyTorch references in MaskedLmParityTests and Lrp2ParityTests, which also run through
/// ONNX Runtime): LRP2 shifts per row at every layer pair, both weight layouts, padding.
/// </summary>
public sealed class OnnxMaskedLanguageModelTests
{
    const double Tolerance = 2e-5;

    static (IMaskedLanguageModel Torch, IMaskedLanguageModel Onnx) Both(MaskedLmBundle bundle)
    {
        var onnx = (MaskedLmBundle)FillMaskRuntime.Apply(bundle, "onnxruntime", NullLogger.Instance);
        Assert.IsType<OnnxMaskedLanguageModel>(onnx.Model);
        return (bundle.Model, onnx.Model);
    }

    /// <summary>Three rows of different lengths: row 0 shifted after layers i and j, row 1 never, row 2 after j and the last layer.</summary>
    static void AssertSameLogits(MaskedLmBundle bundle, int i, int j, int seed)
    {
        var (torchModel, onnxModel) = Both(bundle);
        int layers = torchModel.LayerCount, hidden = torchModel.HiddenSize;
        var random = new Random(seed);
        float[] Shift(IEnumerable<int> rows)
        {
            var shift = new float[3 * hidden];
            foreach (var row in rows)
                for (int d = 0; d < hidden; d++) shift[row * hidden + d] = (float)(random.NextDouble() * 2 - 1);
            return shift;
        }
        var byLayer = new Dictionary<int, float[]>();
        void Add(int layer, int row)
        {
            var shift = Shift([row]);
            if (byLayer.TryGetValue(layer, out var known)) for (int d = 0; d < shift.Length; d++) known[d] += shift[d];
            else byLayer[layer] = shift;
        }
        Add(i, 0); Add(j, 0); Add(j, 2); Add(layers, 2);
        var shifts = new LayerShifts(3, hidden, byLayer);

        int[][] sequences = [[.. Enumerable.Range(5, 9)], [.. Enumerable.Range(7, 4)], [.. Enumerable.Range(11, 6)]];
        using var scope = torch.NewDisposeScope();
        using var mode = torch.inference_mode();
        var (ids, attention) = Batches.Pad(sequences, bundle.Tokenizer.PadId, torch.CPU);
        long width = ids.shape[1];
        long[] positions = [0 * width + 3, 0 * width + 8, 1 * width + 1, 2 * width + 5, 2 * width + 0];
        var expected = torchModel.PredictAt(ids, attention, positions, shifts).to(ScalarType.Float64);
        var actual = onnxModel.PredictAt(ids, attention, positions, shifts).to(ScalarType.Float64);
        var unshifted = onnxModel.PredictAt(ids, attention, positions, null).to(ScalarType.Float64);
        Assert.Equal(expected.shape, actual.shape);
        double worst = (expected - actual).abs().max().item<double>();
        Assert.True(worst < Tolerance, $"(i, j) = ({i}, {j}): max |logit difference| {worst:E2}");
        // The shifts really act: rows 0 and 2 move, row 1 (never shifted) stays as it is without shifts.
        Assert.True((unshifted[0] - actual[0]).abs().max().item<double>() > 1e-3);
        Assert.True((unshifted[2] - actual[2]).abs().max().item<double>() < Tolerance);
    }

    public static TheoryData<string, int, int> LayerPairs()
    {
        var data = new TheoryData<string, int, int>();
        foreach (var fixture in new[] { "bert-tiny", "xlmr-tiny" })
        {
            int layers = MaskedLanguageModelLoader.Load(Fixtures.Dir(fixture), torch.CPU, ScalarType.Float32).Model.LayerCount;
            for (int i = 0; i <= layers; i++)
                for (int j = i; j <= layers; j++) data.Add(fixture, i, j);
        }
        return data;
    }

    [Theory, MemberData(nameof(LayerPairs))]
    public void Per_row_shifts_at_every_layer_pair_give_the_torch_models_logits(string fixture, int i, int j) =>
        AssertSameLogits(MaskedLanguageModelLoader.Load(Fixtures.Dir(fixture), torch.CPU, ScalarType.Float32), i, j, seed: 31 * i + j);

    [Fact]
    public void The_demo_model_in_the_checkpoint_layout_gives_the_torch_models_logits()
    {
        // Built in code, not loaded: query/key/value stay three matrices and the embeddings row-major.
        var demo = DemoMaskedLm.Create(torch.CPU, ScalarType.Float32);
        AssertSameLogits(demo, 1, demo.Model.LayerCount - 1, seed: 7);
    }

    [Fact]
    public void Required_onnxruntime_on_a_bfloat16_model_stops_start_up_with_the_reason()
    {
        var bundle = MaskedLanguageModelLoader.Load(Fixtures.Dir("bert-tiny"), torch.CPU, ScalarType.BFloat16);
        var error = Assert.Throws<ArgumentException>(() => FillMaskRuntime.Apply(bundle, "onnxruntime", NullLogger.Instance));
        Assert.Contains("Inference:FillMaskRuntime=onnxruntime", error.Message);
        Assert.Contains("float32", error.Message);
        Assert.Same(bundle, FillMaskRuntime.Apply(bundle, "auto", NullLogger.Instance));
    }

    [Fact]
    public void Auto_runs_a_float32_cpu_model_on_onnxruntime_and_torch_keeps_torch()
    {
        var bundle = MaskedLanguageModelLoader.Load(Fixtures.Dir("bert-tiny"), torch.CPU, ScalarType.Float32);
        Assert.IsType<OnnxMaskedLanguageModel>(((MaskedLmBundle)FillMaskRuntime.Apply(bundle, "auto", NullLogger.Instance)).Model);
        Assert.IsType<BertForMaskedLM>(((MaskedLmBundle)FillMaskRuntime.Apply(bundle, "torch", NullLogger.Instance)).Model);
    }
}

/// <summary>Models:FillMask:Weights=int8: every product in 8-bit integers on the ONNX Runtime path.</summary>
public sealed class Int8FillMaskTests
{
    static IMaskedLanguageModel Int8(MaskedLmBundle bundle) =>
        Assert.IsType<OnnxMaskedLanguageModel>(((MaskedLmBundle)FillMaskRuntime.Apply(bundle, "auto", NullLogger.Instance, "int8")).Model);

    [Theory]
    [InlineData("bert-tiny")]
    [InlineData("xlmr-tiny")]
    public void Probabilities_stay_near_the_float64_reference_and_a_row_never_depends_on_its_batch(string fixture)
    {
        var bundle = MaskedLanguageModelLoader.Load(Fixtures.Dir(fixture), torch.CPU, ScalarType.Float32);
        var model = Int8(bundle);
        var cases = Fixtures.Expected(fixture).Cases;
        using var scope = torch.NewDisposeScope();
        using var mode = torch.inference_mode();
        var (ids, attention) = Batches.Pad([.. cases.Select(c => c.InputIds)], bundle.Tokenizer.PadId, torch.CPU);
        long width = ids.shape[1];
        var positions = cases.SelectMany((c, b) => c.MaskPositions.Select(p => b * width + p)).ToArray();
        var batched = model.PredictAt(ids, attention, positions, null).softmax(-1).to(ScalarType.Float64);
        int row = 0, agreeing = 0;
        double worst = 0;
        for (int b = 0; b < cases.Count; b++)
        {
            var c = cases[b];
            var (oneIds, oneAttention) = Batches.Pad([c.InputIds], bundle.Tokenizer.PadId, torch.CPU);
            var alone = model.PredictAt(oneIds, oneAttention, [.. c.MaskPositions.Select(p => (long)p)], null).softmax(-1).to(ScalarType.Float64);
            for (int m = 0; m < c.MaskPositions.Length; m++, row++)
            {
                // Per-token activation scales: the same row gives the same numbers alone or in a padded batch.
                Assert.True((alone[m] - batched[row]).abs().max().item<double>() < 1e-6, $"{fixture} case {b} mask {m} changes with its batch");
                var probs = batched[row].data<double>().ToArray();
                worst = Math.Max(worst, probs.Zip(c.ProbsAtMasks[m], (p, q) => Math.Abs(p - q)).Max());
                if (Array.IndexOf(probs, probs.Max()) == c.TopIds[m][0]) agreeing++;
            }
        }
        // Measured: 5.4E-02 (bert-tiny, hidden 32) and 1.8E-02 (xlmr-tiny); 7 bits of weight over so few
        // dimensions is the coarse end. The top token must still be the reference's at every mask.
        Assert.True(worst < 0.1, $"{fixture}: max |p_int8 - p_ref| = {worst:E2}, top-1 {agreeing}/{row}");
        Assert.Equal(row, agreeing);
    }

    [Fact]
    public void Int8_on_torch_or_on_a_model_onnx_runtime_cannot_serve_stops_start_up()
    {
        var bundle = MaskedLanguageModelLoader.Load(Fixtures.Dir("bert-tiny"), torch.CPU, ScalarType.Float32);
        Assert.Contains("Inference:FillMaskRuntime is torch", Assert.Throws<ArgumentException>(() => FillMaskRuntime.Apply(bundle, "torch", NullLogger.Instance, "int8")).Message);
        var bf16 = MaskedLanguageModelLoader.Load(Fixtures.Dir("bert-tiny"), torch.CPU, ScalarType.BFloat16);
        Assert.Contains("Models:FillMask:Weights=int8", Assert.Throws<ArgumentException>(() => FillMaskRuntime.Apply(bf16, "auto", NullLogger.Instance, "int8")).Message);
    }
}
