using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Service.Inference.Probes;
using Service.Plotting;

namespace Service.Api.Commands;

/// <summary>
/// The files the verbs write: a whole run's report (from one process or merged shards, through the
/// same code, so both give the same bytes) or one shard's partial result.
/// </summary>
static class ResultFiles
{
    static readonly JsonSerializerOptions Json = new() { WriteIndented = true, Converters = { new JsonStringEnumConverter() } };

    /// <summary>`{prefix}.json` and `{prefix}.md`; returns the markdown.</summary>
    public static async Task<string> WriteEvaluationAsync(EvaluationPart whole, string prefix)
    {
        var report = whole.ToReport();
        CreateParent(prefix);
        await File.WriteAllTextAsync(prefix + ".json", JsonSerializer.Serialize(report, Json));
        await File.WriteAllTextAsync(prefix + ".md", report.ToMarkdown());
        return report.ToMarkdown();
    }

    /// <summary>Per language `trans-{lang}.png` and `scores-{lang}.json`, plus `best-layers.md`; returns the best pair per language and the table.</summary>
    public static async Task<(Dictionary<string, int[]> Best, string Table)> WriteLayerSearchAsync(LayerSearchPart whole, string directory)
    {
        Directory.CreateDirectory(directory);
        var best = new Dictionary<string, int[]>();
        var table = new StringBuilder($"Model: {whole.Model}\n\n| language | best i | best j | Trans | Acc |\n|---|---:|---:|---:|---:|\n");
        foreach (var (language, scores) in whole.Languages.Select(l => (l.Language, l.Scores)))
        {
            var winner = LayerSearch.Best(scores);
            best[language] = [winner.Lirp, winner.Lsrp];
            table.AppendLine(CultureInfo.InvariantCulture, $"| {language} | {winner.Lirp} | {winner.Lsrp} | {winner.Scores.Transferability:0.00} | {winner.Scores.Accuracy:0.00} |");
            var map = new HeatMap($"Trans with LRP2 for {language}, {whole.Model}", "LIRP layer i (into English space)", "LSRP layer j (back)",
                "Trans (%)", LayerSearch.TransGrid(scores, whole.LayerCount), (winner.Lirp, winner.Lsrp));
            await File.WriteAllBytesAsync(Path.Combine(directory, $"trans-{language}.png"), HeatMapChart.Render(map));
            await File.WriteAllTextAsync(Path.Combine(directory, $"scores-{language}.json"), JsonSerializer.Serialize(scores, Json));
        }
        await File.WriteAllTextAsync(Path.Combine(directory, "best-layers.md"), table.ToString());
        return (best, table.ToString());
    }

    public static string PartName(Shard shard) => $"part-{shard.Index}-of-{shard.Count}.json";

    public static async Task<string> WritePartAsync(ShardPart part, string path)
    {
        CreateParent(path);
        await File.WriteAllTextAsync(path, JsonSerializer.Serialize(part, Json));
        return path;
    }

    /// <summary>Parts from files, or from every `*part-K-of-N.json` in a directory.</summary>
    public static IReadOnlyList<ShardPart> ReadParts(IEnumerable<string> paths)
    {
        var files = paths.SelectMany<string, string>(p => Directory.Exists(p) ? Directory.GetFiles(p, "*part-*-of-*.json").Order(StringComparer.Ordinal)
            : File.Exists(p) ? [p] : throw new FileNotFoundException($"{p} is neither a partial result nor a directory of them.")).ToArray();
        if (files.Length == 0) throw new ArgumentException($"no part-K-of-N.json files in {string.Join(", ", paths)}.");
        return [.. files.Select(f => JsonSerializer.Deserialize<ShardPart>(File.ReadAllText(f), Json)
            ?? throw new JsonException($"{f} holds no partial result."))];
    }

    static void CreateParent(string path)
    {
        var parent = Path.GetDirectoryName(Path.GetFullPath(path));
        if (parent is not null) Directory.CreateDirectory(parent);
    }
}
