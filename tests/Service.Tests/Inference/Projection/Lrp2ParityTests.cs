using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Service.Inference.FillMask;
using Service.Inference.Models;
using Service.Inference.Projection;
using Service.Tests.Support;
using TorchSharp;

namespace Service.Tests.Inference.Projection;

/// <summary>
/// LRP2 end to end against tests/fixtures/lrp2/generate.py (float64 PyTorch): vectors from given
/// sentences, then a French fill-mask query projected at (i, j) = (1, 3).
/// </summary>
public sealed class Lrp2ParityTests
{
    static readonly JsonElement Expected = JsonDocument.Parse(File.ReadAllText(
        Path.Combine(AppContext.BaseDirectory, "fixtures", "lrp2", "expected-bert-tiny.json"))).RootElement;
    static readonly MaskedLmBundle Bundle = MaskedLanguageModelLoader.Load(Fixtures.Dir("bert-tiny"), torch.CPU, torch.ScalarType.Float32);

    static string[] Strings(string name) => [.. Expected.GetProperty(name).EnumerateArray().Select(s => s.GetString()!)];
    static double[][] Matrix(string name) => [.. Expected.GetProperty(name).EnumerateArray().Select(r => r.EnumerateArray().Select(v => v.GetDouble()).ToArray())];

    static double MaxDifference(float[][] ours, double[][] reference) =>
        ours.Zip(reference, (a, b) => a.Zip(b, (x, y) => Math.Abs(x - y)).Max()).Max();

    [Fact]
    public void Vectors_from_a_padded_batch_equal_the_one_sentence_at_a_time_reference()
    {
        var english = LanguageVectorComputer.Compute(Bundle, Strings("english"));
        var french = LanguageVectorComputer.Compute(Bundle, Strings("french"));
        Assert.True(MaxDifference(english, Matrix("v_en")) < 1e-5, $"v_en off by {MaxDifference(english, Matrix("v_en")):E2}");
        Assert.True(MaxDifference(french, Matrix("v_fr")) < 1e-5, $"v_fr off by {MaxDifference(french, Matrix("v_fr")):E2}");
    }

    [Theory]
    [InlineData("torch")]
    [InlineData("onnxruntime")]
    public void A_projected_french_query_matches_the_papers_formula(string runtime)
    {
        var bundle = Fixtures.LoadMaskedLm("bert-tiny", runtime);
        var projection = new ProjectionService(bundle, new ProjectionOptions { CacheDirectory = Directory.CreateTempSubdirectory().FullName }, NullLogger.Instance);
        projection.Compute("en", Strings("english"));
        projection.Compute("fr", Strings("french"));
        var engine = new FillMaskEngine(bundle, new FillMaskOptions(), projection);
        var query = engine.Prepare(new FillMaskQuery(Expected.GetProperty("query").GetString()!, TopK: 10, Language: "fr",
            Projection: new ProjectionRequest(LirpLayer: Expected.GetProperty("lirp_layer").GetInt32(), LsrpLayer: Expected.GetProperty("lsrp_layer").GetInt32())));
        Assert.Equal(Expected.GetProperty("input_ids").EnumerateArray().Select(i => i.GetInt32()), query.InputIds);
        var result = engine.Run([query])[0];
        Assert.True(result.Projection.Applied);
        var predictions = result.Masks.Single().Predictions;
        Assert.Equal(Expected.GetProperty("top_ids").EnumerateArray().Select(i => i.GetInt32()), predictions.Select(p => p.Token));
        var reference = Expected.GetProperty("probs_at_mask").EnumerateArray().Select(v => v.GetDouble()).ToArray();
        Assert.All(predictions, p => Assert.True(Math.Abs(p.Score - reference[p.Token]) < 1e-5, $"token {p.Token}: {p.Score} vs {reference[p.Token]}"));
    }
}
