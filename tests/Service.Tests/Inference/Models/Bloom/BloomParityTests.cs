using System.Text.Json;
using Service.Inference.Checkpoints;
using Service.Inference.Models;
using Service.Inference.Models.Bloom;
using Service.Inference.Projection;
using Service.Tests.Support;
using TorchSharp;
using static TorchSharp.torch;

namespace Service.Tests.Inference.Models.Bloom;

/// <summary>BLOOM against the float64 reference of tests/fixtures/bloom/generate.py (F16 checkpoint, `transformer.` keys).</summary>
public sealed class BloomParityTests
{
    static readonly string Directory = Path.Combine(AppContext.BaseDirectory, "fixtures", "bloom", "bloom-tiny");
    static readonly JsonElement Expected = JsonDocument.Parse(File.ReadAllText(Path.Combine(Directory, "expected.json"))).RootElement;
    static readonly BloomForCausalLM Model = BloomLoader.Load(CheckpointDirectory.Open(Directory), torch.CPU, ScalarType.Float32);

    static int[][] Sequences => [.. Expected.GetProperty("cases").EnumerateArray().Select(c => c.GetProperty("input_ids").EnumerateArray().Select(i => i.GetInt32()).ToArray())];

    static double MaxDifference(Tensor actual, JsonElement expected)
    {
        var reference = expected.EnumerateArray().SelectMany(row => row.ValueKind == JsonValueKind.Array ? row.EnumerateArray().Select(v => v.GetDouble()) : [row.GetDouble()]).ToArray();
        var ours = actual.to(ScalarType.Float64).contiguous().data<double>().ToArray();
        Assert.Equal(reference.Length, ours.Length);
        return ours.Zip(reference, (a, b) => Math.Abs(a - b)).Max();
    }

    [Fact]
    public void Alibi_slopes_match_hf_for_power_of_two_and_other_head_counts()
    {
        Assert.Equal(Expected.GetProperty("alibi_slopes_4_heads").EnumerateArray().Select(v => (float)v.GetDouble()), BloomForCausalLM.AlibiSlopes(4));
        Assert.Equal(Expected.GetProperty("alibi_slopes_6_heads").EnumerateArray().Select(v => (float)v.GetDouble()), BloomForCausalLM.AlibiSlopes(6));
    }

    [Fact]
    public void Logits_of_a_right_padded_batch_match_the_reference()
    {
        using var scope = torch.NewDisposeScope();
        using var mode = torch.inference_mode();
        var (ids, attention) = Batches.Pad(Sequences, Model.Config.PadTokenId, torch.CPU);
        var logits = Model.Logits(Model.Encode(ids, attention));
        var cases = Expected.GetProperty("cases").EnumerateArray().ToArray();
        for (int b = 0; b < cases.Length; b++)
        {
            var worst = MaxDifference(logits[b, ..Sequences[b].Length], cases[b].GetProperty("logits"));
            Assert.True(worst < 1e-4, $"sequence {b}: max |logit - ref| = {worst:E2}");
        }
    }

    [Fact]
    public void Layer_means_match_the_reference_with_layer_L_before_ln_f()
    {
        var sentence = Sequences[1];
        var means = new List<Tensor>();
        using var scope = torch.NewDisposeScope();
        using var mode = torch.inference_mode();
        var (ids, attention) = Batches.Pad([sentence], 3, torch.CPU);
        Model.Encode(ids, attention, (k, h) => { means.Add(h[0].mean([0])); return h; });
        Assert.Equal(Model.LayerCount + 1, means.Count);
        Assert.True(MaxDifference(torch.stack(means), Expected.GetProperty("cases")[1].GetProperty("layer_means")) < 1e-5);
    }

    [Fact]
    public void Lrp2_with_given_vectors_matches_the_reference()
    {
        var projection = Expected.GetProperty("projection");
        float[][] Vectors(string name) => [.. projection.GetProperty(name).EnumerateArray().Select(v => v.EnumerateArray().Select(x => (float)x.GetDouble()).ToArray())];
        LanguageVectors Language(string code, float[][] layers) => new(code, "bloom-tiny", "x", 1, "", DateTimeOffset.UtcNow, layers);
        var row = new RowProjection(Language("fr", Vectors("v_l")), Language("en", Vectors("v_en")),
            new LayerPair(projection.GetProperty("lirp_layer").GetInt32(), projection.GetProperty("lsrp_layer").GetInt32(), LayerSource.Request));
        using var scope = torch.NewDisposeScope();
        using var mode = torch.inference_mode();
        var (ids, attention) = Batches.Pad([Sequences[0]], 3, torch.CPU);
        var logits = Model.Logits(Model.Encode(ids, attention, Lrp2Intervention.Create([row], torch.CPU)));
        Assert.True(MaxDifference(logits[0], projection.GetProperty("logits")) < 1e-4);
    }
}
