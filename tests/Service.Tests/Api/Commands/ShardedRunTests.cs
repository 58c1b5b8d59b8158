using System.Text.Json;
using Service.Inference.Probes;
using Service.Tests.Support;

namespace Service.Tests.Api.Commands;

/// <summary>
/// `lrp2 evaluate` and `lrp2 layer-search` split into shards and merged give, byte for byte, the
/// files one run gives, on the committed checkpoints and the mLAMA-layout fixture.
/// </summary>
public sealed class ShardedRunTests
{
    static string MlamaMini => Path.Combine(AppContext.BaseDirectory, "Fixtures", "mlama-mini");

    /// <summary>A scratch directory with en and fr vectors computed by `lrp2 vectors` for the model.</summary>
    static async Task<(string Model, string Cache, string Work)> Prepare(string fixture)
    {
        var work = Directory.CreateTempSubdirectory($"lrp2-{fixture}-").FullName;
        string model = Fixtures.Dir(fixture.StartsWith("bloom") ? Path.Combine("bloom", fixture) : fixture), cache = Path.Combine(work, "cache");
        await File.WriteAllLinesAsync(Path.Combine(work, "en.txt"), ["Paris is the capital of France.", "The river is long.", "Berlin is in Germany."]);
        await File.WriteAllLinesAsync(Path.Combine(work, "fr.txt"), ["Paris est la capitale de la France.", "Le fleuve est long.", "Berlin est en Allemagne."]);
        foreach (var language in new[] { "en", "fr" })
            (await Lrp2Run.RunAsync("vectors", "--model", model, "--cache", cache, "--language", language, "--file", Path.Combine(work, $"{language}.txt"))).Succeeded();
        return (model, cache, work);
    }

    [Theory]
    [InlineData("bert-tiny")]
    [InlineData("bloom-tiny")]
    public async Task Three_evaluation_shards_merged_equal_one_run(string fixture)
    {
        var (model, cache, work) = await Prepare(fixture);
        string[] common = ["evaluate", "--model", model, "--cache", cache, "--mlama", MlamaMini, "--languages", "en,fr", "--lirp", "1", "--lsrp", "2"];
        var single = (await Lrp2Run.RunAsync([.. common, "--out", Path.Combine(work, "single", "report")])).Succeeded();
        for (int k = 0; k < 3; k++)
            (await Lrp2Run.RunAsync([.. common, "--out", Path.Combine(work, "parts", "report"), "--shard", $"{k}", "--shards", "3"])).Succeeded();
        var parts = Directory.GetFiles(Path.Combine(work, "parts")).Order().ToArray();
        Assert.Equal(["report.part-0-of-3.json", "report.part-1-of-3.json", "report.part-2-of-3.json"], parts.Select(Path.GetFileName));
        // each shard holds a third of the facts (4 English ids, 3 of them in French), a fact and its translation together
        var facts = parts.Select(p => (EvaluationPart)JsonSerializer.Deserialize<ShardPart>(File.ReadAllText(p), Json)!).ToArray();
        Assert.Equal([2, 1, 1], facts.Select(p => p.Languages.Single(l => l.Language == "en").Facts));
        Assert.Equal(3, facts.Sum(p => p.Languages.Single(l => l.Language == "fr").Facts));

        var merged = (await Lrp2Run.RunAsync("merge", Path.Combine(work, "parts"), "--out", Path.Combine(work, "merged", "report"))).Succeeded();
        Assert.Equal(single.Output, merged.Output);
        foreach (var file in new[] { "report.json", "report.md" })
            Assert.Equal(File.ReadAllText(Path.Combine(work, "single", file)), File.ReadAllText(Path.Combine(work, "merged", file)));
        Assert.Contains("| fr | 3 |", File.ReadAllText(Path.Combine(work, "merged", "report.md")));

        // a part of the run missing, or one from a run over other facts, is refused
        File.Delete(parts[1]);
        var incomplete = await Lrp2Run.RunAsync("merge", Path.Combine(work, "parts"), "--out", Path.Combine(work, "x", "report"));
        Assert.Equal(1, incomplete.ExitCode);
        Assert.Contains("shards 1 of 3 are missing", incomplete.Error);
        (await Lrp2Run.RunAsync([.. common.Select(a => a == "en,fr" ? "en" : a), "--out", Path.Combine(work, "parts", "other"), "--shard", "1", "--shards", "3"])).Succeeded();
        var foreign = await Lrp2Run.RunAsync("merge", Path.Combine(work, "parts"), "--out", Path.Combine(work, "x", "report"));
        Assert.Equal(1, foreign.ExitCode);
        Assert.Contains("is from another run", foreign.Error);
    }

    [Theory]
    [InlineData("bert-tiny")]
    [InlineData("bloom-tiny")]
    public async Task Layer_search_shards_merged_equal_one_run_heat_map_included(string fixture)
    {
        var (model, cache, work) = await Prepare(fixture);
        string[] common = ["layer-search", "--model", model, "--cache", cache, "--mlama", MlamaMini, "--languages", "en,fr"];
        var single = (await Lrp2Run.RunAsync([.. common, "--out", Path.Combine(work, "single")])).Succeeded();
        for (int k = 0; k < 2; k++)
            (await Lrp2Run.RunAsync([.. common, "--out", Path.Combine(work, "parts"), "--shard", $"{k}", "--shards", "2"])).Succeeded();
        var halves = Directory.GetFiles(Path.Combine(work, "parts")).Order()
            .Select(p => (LayerSearchPart)JsonSerializer.Deserialize<ShardPart>(File.ReadAllText(p), Json)!).ToArray();
        // 3 layers: pairs (1,2), (1,3), (2,3); shard 0 takes the first and the third
        Assert.Equal([(1, 2), (2, 3)], halves[0].Languages.Single().Scores.Select(s => (s.Lirp, s.Lsrp)));
        Assert.Equal([(1, 3)], halves[1].Languages.Single().Scores.Select(s => (s.Lirp, s.Lsrp)));

        var merged = (await Lrp2Run.RunAsync("merge", Path.Combine(work, "parts"), "--out", Path.Combine(work, "merged"))).Succeeded();
        Assert.Equal(single.Output, merged.Output);
        var names = Directory.GetFiles(Path.Combine(work, "single")).Select(f => Path.GetFileName(f)).Order().ToArray();
        Assert.Equal(["best-layers.md", "scores-fr.json", "trans-fr.png"], names);
        foreach (var name in names)
            Assert.Equal(File.ReadAllBytes(Path.Combine(work, "single", name)), File.ReadAllBytes(Path.Combine(work, "merged", name)));
    }

    static readonly JsonSerializerOptions Json = new() { Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter() } };
}
