using System.Text.Json;
using System.Text.RegularExpressions;
using Service.Inference.Checkpoints;

namespace Service.Inference.Tokenization.HuggingFace;

/// <summary>Small readers shared by the tokenizer.json component parsers, and the error every unsupported construct raises.</summary>
public static class TokenizerJson
{
    public static CheckpointException Error(string source, string path, string detail) =>
        new($"{source}: {path}: {detail}.");

    public static string Type(JsonElement node, string source, string path) =>
        node.ValueKind == JsonValueKind.Object && node.TryGetProperty("type", out var type) && type.GetString() is { } name ? name
            : throw Error(source, path, "has no \"type\"");

    public static bool Flag(JsonElement node, string name, bool fallback) =>
        node.TryGetProperty(name, out var value) && value.ValueKind is JsonValueKind.True or JsonValueKind.False ? value.GetBoolean() : fallback;

    public static string? OptionalString(JsonElement node, string name) =>
        node.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    /// <summary>A `pattern` object: {"String": literal} or {"Regex": Oniguruma pattern}.</summary>
    public static Regex Pattern(JsonElement pattern, string source, string path)
    {
        if (pattern.TryGetProperty("String", out var literal)) return CodePointRegex.Literal(literal.GetString()!);
        if (pattern.TryGetProperty("Regex", out var regex))
        {
            try
            {
                return CodePointRegex.Create(regex.GetString()!);
            }
            catch (ArgumentException e)
            {
                throw Error(source, $"{path}.pattern", $"the regex cannot be used: {e.Message}");
            }
        }
        throw Error(source, $"{path}.pattern", "is neither {\"String\": ...} nor {\"Regex\": ...}");
    }
}
