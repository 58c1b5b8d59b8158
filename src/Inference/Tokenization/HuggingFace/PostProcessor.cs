using System.Text.Json;

namespace Service.Inference.Tokenization.HuggingFace;

/// <summary>
/// What the `post_processor` adds around one sequence when special tokens are added: TemplateProcessing's
/// `single` template, RobertaProcessing and BertProcessing (cls ... sep), ByteLevel (offsets only, no ids),
/// and Sequence of those.
/// </summary>
public sealed record PostProcessor(IReadOnlyList<int> Prefix, IReadOnlyList<int> Suffix)
{
    public static readonly PostProcessor None = new([], []);

    public static PostProcessor Parse(JsonElement node, string source, string path = "post_processor")
    {
        if (node.ValueKind == JsonValueKind.Null) return None;
        var type = TokenizerJson.Type(node, source, path);
        switch (type)
        {
            case "ByteLevel":
                return None;
            case "RobertaProcessing" or "BertProcessing":
                return new([node.GetProperty("cls")[1].GetInt32()], [node.GetProperty("sep")[1].GetInt32()]);
            case "TemplateProcessing":
                {
                    var specials = node.GetProperty("special_tokens");
                    var prefix = new List<int>();
                    var suffix = new List<int>();
                    bool seenSequence = false;
                    foreach (var item in node.GetProperty("single").EnumerateArray())
                    {
                        if (item.TryGetProperty("Sequence", out _)) { seenSequence = true; continue; }
                        var name = item.GetProperty("SpecialToken").GetProperty("id").GetString()!;
                        if (!specials.TryGetProperty(name, out var special))
                            throw TokenizerJson.Error(source, $"{path}.single", $"the template names '{name}', which special_tokens does not define");
                        (seenSequence ? suffix : prefix).AddRange(special.GetProperty("ids").EnumerateArray().Select(i => i.GetInt32()));
                    }
                    return new(prefix, suffix);
                }
            case "Sequence":
                {
                    var steps = node.GetProperty("processors").EnumerateArray().Select((p, i) => Parse(p, source, $"{path}.processors[{i}]")).ToList();
                    // Each processor wraps what the previous ones produced.
                    return steps.Aggregate(None, (inner, outer) => new([.. outer.Prefix, .. inner.Prefix], [.. inner.Suffix, .. outer.Suffix]));
                }
            default:
                throw TokenizerJson.Error(source, path, $"the post-processor type '{type}' is not supported (supported: TemplateProcessing, ByteLevel, RobertaProcessing, BertProcessing, Sequence)");
        }
    }
}
