using System.Text.Json;

namespace Service.Inference.Generation.Guided;

/// <summary>
/// A request's guided-output fields as the API hands them over: OpenAI's <c>response_format</c> (type and
/// json_schema.schema) and vLLM's <c>structured_outputs.choice</c>. <see cref="Compile"/> checks and compiles them.
/// </summary>
public sealed record GuidedOutputRequest(string? ResponseFormatType = null, JsonElement? Schema = null, IReadOnlyList<string>? Choice = null)
{
    /// <summary>The grammar the reply must follow, or null for free text; 400 naming the field when the request is not usable.</summary>
    public OutputGrammar? Compile()
    {
        bool schema = ResponseFormatType switch
        {
            null or "text" => false,
            "json_schema" => true,
            "json_object" => throw InferenceException.Invalid(
                "response_format type json_object is not supported here; send type json_schema with a schema.", "response_format"),
            _ => throw InferenceException.Invalid(
                $"response_format.type must be text or json_schema; it was '{ResponseFormatType}'.", "response_format"),
        };
        if (schema && Choice is not null)
            throw InferenceException.Invalid("Send either response_format json_schema or structured_outputs.choice, not both.", "structured_outputs");
        if (Choice is not null) return OutputGrammar.Choice(Choice);
        if (!schema) return null;
        if (Schema is not { ValueKind: JsonValueKind.Object } root)
            throw InferenceException.Invalid("response_format.json_schema.schema is required: a JSON schema object.", "response_format");
        return OutputGrammar.JsonSchema(root);
    }
}
