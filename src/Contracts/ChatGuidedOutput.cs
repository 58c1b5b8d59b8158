using System.ComponentModel;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Service.Contracts;

[Description("OpenAI's response_format: text (default) or json_schema, which constrains the reply token by token to compact JSON valid against the schema.")]
public sealed record ChatResponseFormat
{
    [JsonPropertyName("type"), Description("text or json_schema (json_object is not supported).")]
    public string? Type { get; init; }

    [JsonPropertyName("json_schema"), Description("With type json_schema: the schema the reply must validate against.")]
    public ChatJsonSchemaFormat? JsonSchema { get; init; }
}

[Description("A named JSON schema for the reply.")]
public sealed record ChatJsonSchemaFormat
{
    [JsonPropertyName("name"), Description("The schema's name; accepted and not used.")]
    public string? Name { get; init; }

    [JsonPropertyName("description"), Description("What the format is for; accepted and not used.")]
    public string? Description { get; init; }

    [JsonPropertyName("schema"), Description("The JSON schema. Supported: type object (properties, required; properties are written in the schema's order), string (minLength, maxLength), number and integer (no exponent, at most 15 digits each side of the point), boolean, null, enum, const, array (items, minItems, maxItems), nested up to 32 levels. Any other keyword (pattern, format, minimum, anyOf, $ref, ...) is a 400 naming it.")]
    public JsonElement? Schema { get; init; }

    [JsonPropertyName("strict"), Description("Accepted; the reply always follows the schema.")]
    public bool? Strict { get; init; }
}

[Description("vLLM's structured outputs (extension).")]
public sealed record ChatStructuredOutputs
{
    [JsonPropertyName("choice"), Description("The reply is exactly one of these strings (1 to 1000, non-empty), chosen token by token by the model.")]
    public IReadOnlyList<string>? Choice { get; init; }
}
