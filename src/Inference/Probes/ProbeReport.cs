using System.Globalization;
using System.Text;

namespace Service.Inference.Probes;

/// <summary>Acc and Trans per language, without and with LRP2 projection.</summary>
public sealed record ProbeReport(string Model, IReadOnlyList<ProbeReportRow> Languages)
{
    public string ToMarkdown()
    {
        var text = new StringBuilder();
        text.AppendLine($"Model: {Model}").AppendLine();
        text.AppendLine("| language | facts | Acc | Trans | Acc (LRP2) | Trans (LRP2) | layers |");
        text.AppendLine("|---|---:|---:|---:|---:|---:|---|");
        foreach (var row in Languages)
            text.AppendLine($"| {row.Language} | {row.Plain.Facts} | {F(row.Plain.Accuracy)} | {F(row.Plain.Transferability)} | " +
                $"{F(row.Projected?.Accuracy)} | {F(row.Projected?.Transferability)} | {Layers(row.Layers)} |");
        return text.ToString();
    }

    static string Layers(Projection.LayerPair? pair) =>
        pair is null ? "-" : $"{pair.Lirp}, {pair.Lsrp} ({pair.Source.ToString().ToLowerInvariant()})";

    static string F(double? value) => value is null ? "-" : value.Value.ToString("0.00", CultureInfo.InvariantCulture);
}

/// <param name="Layers">The projection's layers, or null for English and unprojected languages.</param>
public sealed record ProbeReportRow(string Language, LanguageScores Plain, LanguageScores? Projected, Projection.LayerPair? Layers);
