using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Service.Inference.Checkpoints;
using Service.Inference.Models.Bloom;
using Service.Inference.Probes;
using Service.Inference.Projection;
using Service.Tests.Support;
using TorchSharp;

namespace Service.Tests.Inference.Probes;

/// <summary>
/// LRP2 probing on BLOOM against tests/fixtures/bloom/generate.py: its tokenizer.json (byte-level BPE
/// with BLOOM's own Split pattern), vectors from sentences, and candidates ranked by sentence
/// log-likelihood with and without projection.
/// </summary>
public sealed class BloomProbeTests
{
    static readonly string Directory = Path.Combine(AppContext.BaseDirectory, "fixtures", "bloom", "bloom-tiny");
    static readonly JsonElement Probe = JsonDocument.Parse(File.ReadAllText(Path.Combine(Directory, "expected.json"))).RootElement.GetProperty("probe");
    static readonly BloomBundle Bundle = BloomBundle.Load(CheckpointDirectory.Open(Directory), torch.CPU, torch.ScalarType.Float32);

    static string[] Strings(JsonElement e) => [.. e.EnumerateArray().Select(s => s.GetString()!)];
    static double[] Numbers(JsonElement e) => [.. e.EnumerateArray().Select(v => v.GetDouble())];

    [Fact]
    public void The_tokenizer_keeps_punctuation_that_blooms_split_pattern_leaves_between_matches()
    {
        foreach (var c in Probe.GetProperty("tokenization").EnumerateArray())
            Assert.Equal(c.GetProperty("ids").EnumerateArray().Select(i => i.GetInt32()), Bundle.EncodeSentence(c.GetProperty("text").GetString()!));
    }

    [Fact]
    public void Candidates_are_ranked_by_sentence_log_likelihood_with_and_without_projection()
    {
        var projection = new ProjectionService(Bundle, new ProjectionOptions { CacheDirectory = System.IO.Directory.CreateTempSubdirectory().FullName }, NullLogger.Instance);
        projection.Compute("en", Strings(Probe.GetProperty("english")));
        var french = projection.Compute("fr", Strings(Probe.GetProperty("french")));
        var referenceFrench = Probe.GetProperty("v_fr").EnumerateArray().Select(Numbers).ToArray();
        Assert.True(french.Layers.Zip(referenceFrench, (a, b) => a.Zip(b, (x, y) => Math.Abs(x - y)).Max()).Max() < 1e-5);

        var evaluator = new ProbeEvaluator(Bundle, projection);
        var layers = new ProjectionRequest(true, Probe.GetProperty("lirp_layer").GetInt32(), Probe.GetProperty("lsrp_layer").GetInt32());
        foreach (var f in Probe.GetProperty("facts").EnumerateArray())
        {
            var fact = new ProbeFact(f.GetProperty("id").GetString()!, "P36", f.GetProperty("language").GetString()!, f.GetProperty("template").GetString()!,
                f.GetProperty("subject").GetString()!, f.GetProperty("object").GetString()!, Strings(f.GetProperty("candidates")));
            foreach (var (project, expected) in new[] { (false, "scores_plain"), (true, "scores_projected") })
            {
                var scores = evaluator.Scores([evaluator.Prepare(fact, project, layers)])[0];
                var reference = Numbers(f.GetProperty(expected));
                Assert.True(scores.Zip(reference, (a, b) => Math.Abs(a - b)).Max() < 2e-3,
                    $"{fact.Language} {expected}: [{string.Join(", ", scores)}] vs [{string.Join(", ", reference)}]");
                Assert.Equal(Array.IndexOf(reference, reference.Max()) == 0, evaluator.Answer([evaluator.Prepare(fact, project, layers)])[0]);
            }
        }
    }
}
