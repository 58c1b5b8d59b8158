using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using NJsonSchema;
using NJsonSchema.Validation;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Service.Tests.Deployment;

/// <summary>
/// A Compose file read with YamlDotNet and converted to JSON the way Compose reads YAML
/// (YAML 1.2 core schema: plain 1 is a number, plain true a boolean, quoted "1" a string), so that it
/// can be validated against the Compose Specification's JSON schema without a Docker engine.
/// </summary>
public sealed record ComposeDocument(YamlMappingNode Yaml, JsonObject Json)
{
    static readonly Lazy<JsonSchema> Schema = new(() =>
        JsonSchema.FromFileAsync(Path.Combine(AppContext.BaseDirectory, "Deployment", "compose-spec.json")).GetAwaiter().GetResult());

    public static ComposeDocument Load(string relativePath) => Parse(File.ReadAllText(Repository.File(relativePath)));

    public static ComposeDocument Parse(string yaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        var root = (YamlMappingNode)stream.Documents.Single().RootNode;
        return new ComposeDocument(root, (JsonObject)ToJson(root)!);
    }

    /// <summary>The schema's complaints as "path: kind", innermost first; empty when the document is valid.</summary>
    public IReadOnlyList<string> SchemaErrors() =>
        Schema.Value.Validate(Json.ToJsonString()).SelectMany(Flatten).Select(e => $"{e.Path}: {e.Kind}").ToList();

    // NJsonSchema nests the reason under the property that failed (e.g. services.api): unfold it.
    static IEnumerable<ValidationError> Flatten(ValidationError error) =>
        error is ChildSchemaValidationError child
            ? child.Errors.Values.SelectMany(errors => errors).SelectMany(Flatten).Append(error)
            : [error];

    public JsonObject Service(string name) => Json["services"]![name]!.AsObject();

    // Custom tags (Compose's !reset and !override) keep their content; a test reads the tag from Yaml.
    static JsonNode? ToJson(YamlNode node) => node switch
    {
        YamlMappingNode map => new JsonObject(map.Children.Select(entry => KeyValuePair.Create(Key(entry.Key), ToJson(entry.Value)))),
        YamlSequenceNode sequence => new JsonArray(sequence.Children.Select(ToJson).ToArray()),
        YamlScalarNode scalar => Scalar(scalar),
        _ => throw new NotSupportedException($"YAML node {node.NodeType} at {node.Start}"),
    };

    static string Key(YamlNode key)
    {
        var name = ((YamlScalarNode)key).Value!;
        // Merge keys are YAML 1.1 only; YamlDotNet keeps them as a literal "<<" key.
        if (name == "<<") throw new NotSupportedException($"YAML merge key at {key.Start}: write the entries out instead");
        return name;
    }

    static readonly Regex Integer = new(@"^[-+]?[0-9]+$"), Float = new(@"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$");

    static JsonNode? Scalar(YamlScalarNode scalar)
    {
        var text = scalar.Value ?? "";
        if (scalar.Style != ScalarStyle.Plain || (!scalar.Tag.IsEmpty && scalar.Tag.Value == "tag:yaml.org,2002:str")) return JsonValue.Create(text);
        if (text is "" or "~" or "null" or "Null" or "NULL") return null;
        if (text is "true" or "True" or "TRUE") return JsonValue.Create(true);
        if (text is "false" or "False" or "FALSE") return JsonValue.Create(false);
        if (Integer.IsMatch(text)) return JsonValue.Create(long.Parse(text, CultureInfo.InvariantCulture));
        if (Float.IsMatch(text)) return JsonValue.Create(double.Parse(text, CultureInfo.InvariantCulture));
        return JsonValue.Create(text);
    }
}

/// <summary>The files under test, read from the working tree of this repository (never outside it).</summary>
public static class Repository
{
    static readonly Lazy<string> RootDirectory = new(() =>
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (System.IO.File.Exists(Path.Combine(dir.FullName, "Service.sln"))) return dir.FullName;
        throw new InvalidOperationException($"No Service.sln above {AppContext.BaseDirectory}: the tests must run from the repository.");
    });

    public static string Root => RootDirectory.Value;

    public static string File(string relativePath) => Path.Combine(Root, relativePath);
}
