using System.Text;
using System.Text.Json;

namespace Service.Inference.Generation.Guided;

/// <summary>
/// Compiles the supported subset of JSON Schema into matchers: object (properties, required), string
/// (minLength, maxLength), number, integer, boolean, null, enum, const, array (items, minItems, maxItems), nested.
/// Any other keyword is refused with a 400 that names it, rather than silently ignored: a reply would then not
/// validate against the caller's schema.
/// </summary>
public static class JsonSchemaGrammar
{
    const int MaxDepth = 32;
    const string Parameter = "response_format";

    static readonly HashSet<string> Annotations = ["title", "description", "$schema", "$comment", "default", "examples", "additionalProperties", "strict"];

    static readonly Dictionary<string, string[]> KeywordsOf = new()
    {
        ["object"] = ["properties", "required"],
        ["array"] = ["items", "minItems", "maxItems"],
        ["string"] = ["minLength", "maxLength"],
        ["number"] = [], ["integer"] = [], ["boolean"] = [], ["null"] = [],
    };

    public static Func<Matcher> Compile(JsonElement schema) => Compile(schema, "schema", 0);

    static Func<Matcher> Compile(JsonElement schema, string path, int depth)
    {
        if (depth > MaxDepth) throw Invalid($"{path} nests deeper than {MaxDepth} levels.");
        if (schema.ValueKind != JsonValueKind.Object) throw Invalid($"{path} must be a JSON object (a schema).");
        if (schema.TryGetProperty("const", out var constant)) return Literals(path, schema, "const", [constant]);
        if (schema.TryGetProperty("enum", out var values))
        {
            if (values.ValueKind != JsonValueKind.Array || values.GetArrayLength() == 0) throw Invalid($"{path}.enum must be a non-empty array.");
            return Literals(path, schema, "enum", [.. values.EnumerateArray()]);
        }
        string type = schema.TryGetProperty("type", out var t) ? t.ValueKind == JsonValueKind.String ? t.GetString()!
                : throw Invalid($"{path}.type must be one type name; a list of types is not supported.")
            : schema.TryGetProperty("properties", out _) ? "object"
            : throw Invalid($"{path} needs a type (object, array, string, number, integer, boolean or null), enum or const.");
        if (!KeywordsOf.TryGetValue(type, out var allowed)) throw Invalid($"{path}.type '{type}' is not a JSON-schema type.");
        CheckKeywords(schema, path, [.. allowed, "type"]);
        switch (type)
        {
            case "object": return Object(schema, path, depth);
            case "array":
                if (!schema.TryGetProperty("items", out var items)) throw Invalid($"{path}: an array schema needs items.");
                var item = Compile(items, path + ".items", depth + 1);
                var (minItems, maxItems) = Bounds(schema, path, "minItems", "maxItems");
                return () => new ArrayMatcher(item, minItems, maxItems);
            case "string":
                var (minLength, maxLength) = Bounds(schema, path, "minLength", "maxLength");
                return () => new StringMatcher(minLength, maxLength);
            case "number": return () => new NumberMatcher(integer: false);
            case "integer": return () => new NumberMatcher(integer: true);
            case "boolean": return Literal(["true", "false"]);
            default: return Literal(["null"]);
        }
    }

    static Func<Matcher> Object(JsonElement schema, string path, int depth)
    {
        var properties = new List<PropertyRule>();
        var required = new HashSet<string>(StringComparer.Ordinal);
        if (schema.TryGetProperty("required", out var names))
        {
            if (names.ValueKind != JsonValueKind.Array || names.EnumerateArray().Any(n => n.ValueKind != JsonValueKind.String))
                throw Invalid($"{path}.required must be an array of property names.");
            required.UnionWith(names.EnumerateArray().Select(n => n.GetString()!));
        }
        if (schema.TryGetProperty("properties", out var declared))
        {
            if (declared.ValueKind != JsonValueKind.Object) throw Invalid($"{path}.properties must be an object.");
            foreach (var p in declared.EnumerateObject())
                properties.Add(new PropertyRule(p.Name, required.Contains(p.Name), Compile(p.Value, $"{path}.properties.{p.Name}", depth + 1)));
        }
        if (required.FirstOrDefault(r => properties.All(p => p.Name != r)) is { } missing)
            throw Invalid($"{path}.required names '{missing}', which properties does not declare.");
        var rules = properties.ToArray();
        return () => new ObjectMatcher(rules);
    }

    static Func<Matcher> Literals(string path, JsonElement schema, string keyword, JsonElement[] values)
    {
        CheckKeywords(schema, path, [keyword, "type"]);
        return Literal([.. values.Select(v => JsonSerializer.Serialize(v, ObjectMatcher.Compact))]);
    }

    static Func<Matcher> Literal(string[] texts)
    {
        var options = texts.Select(Encoding.UTF8.GetBytes).ToArray();
        return () => new LiteralMatcher(options);
    }

    static (int Min, int Max) Bounds(JsonElement schema, string path, string minName, string maxName)
    {
        int Read(string name, int absent) => !schema.TryGetProperty(name, out var v) ? absent
            : v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int n) && n >= 0 ? n
            : throw Invalid($"{path}.{name} must be a non-negative integer.");
        int min = Read(minName, 0), max = Read(maxName, int.MaxValue);
        return min <= max ? (min, max) : throw Invalid($"{path}: {minName} {min} is larger than {maxName} {max}.");
    }

    static void CheckKeywords(JsonElement schema, string path, string[] allowed)
    {
        foreach (var p in schema.EnumerateObject())
            if (!allowed.Contains(p.Name) && !Annotations.Contains(p.Name))
                throw Invalid($"{path}: the JSON-schema keyword '{p.Name}' is not supported here; supported: type, properties, required, items, " +
                              "enum, const, minLength, maxLength, minItems, maxItems (and title, description, additionalProperties, which do not constrain).");
    }

    static InferenceException Invalid(string message) => InferenceException.Invalid("response_format.json_schema." + message, Parameter);
}
