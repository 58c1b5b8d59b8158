using System.Text.Json;

namespace Service.Inference.Tokenization;

/// <summary>The special tokens a BERT tokenizer_config.json names (a string or an AddedToken object with `content`).</summary>
public sealed record SpecialTokenNames(string Cls, string Sep, string Pad, string Unk, string Mask)
{
    public static readonly SpecialTokenNames Bert = new("[CLS]", "[SEP]", "[PAD]", "[UNK]", "[MASK]");

    public static SpecialTokenNames From(JsonElement? config) => new(
        Name(config, "cls_token") ?? Bert.Cls, Name(config, "sep_token") ?? Bert.Sep, Name(config, "pad_token") ?? Bert.Pad,
        Name(config, "unk_token") ?? Bert.Unk, Name(config, "mask_token") ?? Bert.Mask);

    static string? Name(JsonElement? config, string key) =>
        config is not { } c || !c.TryGetProperty(key, out var v) ? null
        : v.ValueKind == JsonValueKind.String ? v.GetString()
        : v.ValueKind == JsonValueKind.Object && v.TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.String ? content.GetString()
        : null;
}
