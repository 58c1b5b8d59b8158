namespace Service.Inference.Projection;

/// <summary>
/// Parallel sentences written for this project (line N means the same in every language), embedded
/// so that LRP2 works out of the box. Real deployments may PUT larger corpora such as OPUS-100.
/// </summary>
public static class BundledCorpora
{
    const string Prefix = "Service.Inference.Projection.Corpora.";

    public static IReadOnlyList<string> Languages { get; } =
        [.. typeof(BundledCorpora).Assembly.GetManifestResourceNames()
            .Where(n => n.StartsWith(Prefix, StringComparison.Ordinal) && n.EndsWith(".txt", StringComparison.Ordinal))
            .Select(n => n[Prefix.Length..^".txt".Length]).Order(StringComparer.Ordinal)];

    public static IReadOnlyList<string>? Sentences(string language)
    {
        using var stream = typeof(BundledCorpora).Assembly.GetManifestResourceStream($"{Prefix}{language}.txt");
        if (stream is null) return null;
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    }
}
