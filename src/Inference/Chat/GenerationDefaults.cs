using System.Text.Json;
using Service.Inference.Checkpoints;

namespace Service.Inference.Chat;

/// <summary>
/// Sampling defaults a checkpoint ships in `generation_config.json` (temperature, top_p, top_k,
/// repetition_penalty), read as vLLM reads them: only the fields present, `do_sample` ignored.
/// They apply when neither the request nor `Chat:*` says otherwise (see <see cref="ChatEngine"/>).
/// </summary>
public sealed record GenerationDefaults(double? Temperature = null, double? TopP = null, int? TopK = null, double? RepetitionPenalty = null)
{
    public static readonly GenerationDefaults None = new();

    /// <summary>The file's values, or <see cref="None"/> without the file; a value out of range stops loading, naming the field.</summary>
    public static GenerationDefaults Read(string directory)
    {
        var file = Path.Combine(directory, "generation_config.json");
        using var json = CheckpointDirectory.ReadJson(file);
        if (json is null) return None;
        var root = json.RootElement;
        var defaults = new GenerationDefaults(
            Number(root, "temperature", file), Number(root, "top_p", file),
            Number(root, "top_k", file) is { } k ? (int)k : null, Number(root, "repetition_penalty", file));
        if (defaults.Temperature is < 0 or > 2) throw Bad(file, "temperature", "between 0 and 2");
        if (defaults.TopP is <= 0 or > 1) throw Bad(file, "top_p", "greater than 0 and at most 1");
        if (defaults.RepetitionPenalty is <= 0) throw Bad(file, "repetition_penalty", "positive");
        // Hugging Face and vLLM both read top_k 0 (and vLLM -1) as "off".
        return defaults with { TopK = defaults.TopK is <= 0 ? null : defaults.TopK };
    }

    static double? Number(JsonElement root, string name, string file)
    {
        if (!root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null) return null;
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetDouble(out var number) || !double.IsFinite(number))
            throw new CheckpointException($"{file}: {name} must be a number.");
        return number;
    }

    static CheckpointException Bad(string file, string name, string range) => new($"{file}: {name} must be {range}.");
}
