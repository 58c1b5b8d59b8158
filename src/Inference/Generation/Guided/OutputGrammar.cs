using System.Text;
using System.Text.Json;
using Service.Inference.Tokenization;

namespace Service.Inference.Generation.Guided;

/// <summary>What a guided reply must be: the root matcher of a JSON schema or of a list of choices.</summary>
public sealed class OutputGrammar(Func<Matcher> root)
{
    public const int MaxChoices = 1000;

    public OutputState Start() => OutputState.Start(root());

    /// <summary>vLLM's <c>structured_outputs.choice</c>: the reply is exactly one of these strings.</summary>
    public static OutputGrammar Choice(IReadOnlyList<string> choices)
    {
        if (choices.Count == 0 || choices.Count > MaxChoices)
            throw InferenceException.Invalid($"structured_outputs.choice must list 1 to {MaxChoices} strings; it has {choices.Count}.", "structured_outputs");
        if (choices.Any(string.IsNullOrEmpty))
            throw InferenceException.Invalid("structured_outputs.choice strings must not be empty.", "structured_outputs");
        var options = choices.Select(Encoding.UTF8.GetBytes).ToArray();
        return new OutputGrammar(() => new LiteralMatcher(options));
    }

    /// <summary>OpenAI's <c>response_format: {"type": "json_schema", ...}</c>: compact JSON that validates against the schema.</summary>
    public static OutputGrammar JsonSchema(JsonElement schema) => new(JsonSchemaGrammar.Compile(schema));
}

/// <summary>A grammar and the vocabulary's bytes it is applied with.</summary>
public sealed record GuideOptions(OutputGrammar Grammar, TokenTable Tokens);
