using System.CommandLine;
using Service.Inference.Probes;
using Service.Inference.Projection;

namespace Service.Api.Commands;

/// <summary>Options the lrp2 verbs share, typed and described once.</summary>
static class Lrp2Options
{
    public static Option<string?> Model() => new("--model")
    { Description = "Checkpoint directory of the probed model (overrides Models:FillMask:Path; default: the configured one, else the demo model)" };

    public static Option<string?> Cache() => new("--cache")
    { Description = "Directory of the language-vector cache (overrides Projection:CacheDirectory)" };

    public static Option<DirectoryInfo> Mlama() => new Option<DirectoryInfo>("--mlama")
    { Description = "mLAMA root: the folder holding mlama1.1/ and TREx_multilingual_objects/", Required = true }.AcceptExistingOnly();

    public static Option<string[]> Languages() => new("--languages")
    {
        Description = "Languages to probe, comma-separated (English is needed for Trans), e.g. en,fr,zh",
        Required = true,
        CustomParser = result => [.. result.Tokens.SelectMany(t => t.Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))],
    };

    public static Option<string[]?> Relations() => new("--relations")
    {
        Description = "Only these mLAMA relations, comma-separated, e.g. P36,P37",
        CustomParser = result => [.. result.Tokens.SelectMany(t => t.Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))],
    };

    public static Option<int?> ShardIndex() => WholeNumber("--shard", "This process's shard, 0..N-1 (with --shards N): writes a partial result for `lrp2 merge`");

    public static Option<int?> ShardCount() => WholeNumber("--shards", "Number of shards N the work is split into");

    /// <summary>An optional whole number whose parse error names the option in words, not a CLR type.</summary>
    public static Option<int?> WholeNumber(string name, string description) => new(name)
    {
        Description = description,
        CustomParser = result =>
        {
            var token = result.Tokens.Single().Value;
            if (int.TryParse(token, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out int value)) return value;
            result.AddError($"{name} takes a whole number, not '{token}'.");
            return null;
        },
    };

    /// <summary>Checks --shard and --shards together, as a parse error (exit code 2).</summary>
    public static void ValidateShard(Command command, Option<int?> index, Option<int?> count) => command.Validators.Add(result =>
    {
        int? k = Value(result, index), n = Value(result, count);
        if (k is null && n is null) return;
        if (k is null || n is null) result.AddError("--shard and --shards go together.");
        else if (n < 1) result.AddError($"--shards must be at least 1, not {n}.");
        else if (k < 0 || k >= n) result.AddError($"--shard must be in 0..{n - 1} for --shards {n}, not {k}.");
    });

    /// <summary>
    /// An option's value for a check across options, or default when it did not convert (the parser
    /// reports that error itself; asking again would throw).
    /// </summary>
    public static T? Value<T>(System.CommandLine.Parsing.CommandResult result, Option<T> option)
    {
        try { return result.GetValue(option); }
        catch (InvalidOperationException) { return default; }
    }

    public static Shard Shard(ParseResult parse, Option<int?> index, Option<int?> count) =>
        parse.GetValue(count) is int n ? Inference.Probes.Shard.Of(parse.GetValue(index)!.Value, n) : Inference.Probes.Shard.Whole;

    public static List<ProbeFact> ReadFacts(ParseResult parse, Option<DirectoryInfo> mlama, Option<string[]> languages, Option<string[]?> relations)
    {
        var root = parse.GetRequiredValue(mlama).FullName;
        var codes = parse.GetRequiredValue(languages).Select(l => LanguageCodes.Normalize(l, "--languages")).Distinct().ToArray();
        var only = parse.GetValue(relations) is { Length: > 0 } r ? r : null;
        var facts = codes.SelectMany(l => MlamaReader.Read(root, l, only)).ToList();
        return facts.Count > 0 ? facts : throw new ArgumentException($"no facts for {string.Join(",", codes)} under {root} (check --languages and --relations).");
    }
}
