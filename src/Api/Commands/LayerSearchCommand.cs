using System.CommandLine;
using Service.Inference.Probes;

namespace Service.Api.Commands;

/// <summary>`lrp2 layer-search`: Trans and Acc for every (i, j) per language, whole or one shard of the pairs.</summary>
static class LayerSearchCommand
{
    public static Command Create(TextWriter error)
    {
        var model = Lrp2Options.Model();
        var cache = Lrp2Options.Cache();
        var mlama = Lrp2Options.Mlama();
        var languages = Lrp2Options.Languages();
        var relations = Lrp2Options.Relations();
        var output = new Option<string>("--out") { Description = "Directory for the heat maps (trans-LANG.png), scores and best-layers.md (a shard: part-K-of-N.json)", DefaultValueFactory = _ => "lrp2-layer-search" };
        var save = new Option<bool>("--save") { Description = "Make the best pairs this model's default layers (below Projection:Layers in precedence)" };
        var shard = Lrp2Options.ShardIndex();
        var shards = Lrp2Options.ShardCount();
        var command = new Command("layer-search", "Evaluate every layer pair 1 <= i < j <= L per language and pick the best by Trans")
        { model, cache, mlama, languages, relations, output, save, shard, shards };
        Lrp2Options.ValidateShard(command, shard, shards);
        command.Validators.Add(result =>
        {
            if (Lrp2Options.Value(result, save) && Lrp2Options.Value(result, shards) > 1) result.AddError("--save needs every pair: give it to `lrp2 merge` instead of a shard.");
        });
        command.SetAction(async (parse, cancellation) =>
        {
            var facts = Lrp2Options.ReadFacts(parse, mlama, languages, relations);
            var part = Lrp2Options.Shard(parse, shard, shards);
            var directory = parse.GetRequiredValue(output);
            await using var host = await CommandHost.StartAsync(parse.GetValue(model), parse.GetValue(cache));
            var result = await LayerSearch.SearchShardAsync(host.Evaluator(), host.ModelName, facts, host.Models.Probed.Model.LayerCount,
                part, host.Execute, language => new ConsoleProgress(error, $"search {language} {part}"), cancellation);
            if (part.Count > 1)
            {
                var path = await ResultFiles.WritePartAsync(result, Path.Combine(directory, ResultFiles.PartName(part)));
                await error.WriteLineAsync($"wrote shard {part}: {path}; combine all shards with `lrp2 merge`");
                return 0;
            }
            var (best, table) = await ResultFiles.WriteLayerSearchAsync(result, directory);
            await parse.InvocationConfiguration.Output.WriteLineAsync(table);
            if (parse.GetValue(save)) Save(host, best, error);
            await error.WriteLineAsync($"wrote heat maps (rows i, columns j) and tables to {Path.GetFullPath(directory)}");
            return 0;
        });
        return command;
    }

    public static void Save(CommandHost host, Dictionary<string, int[]> best, TextWriter error)
    {
        host.Models.Projection.SaveSearchedLayers(best);
        error.WriteLine($"saved as the defaults for {host.ModelName} (below Projection:Layers in precedence)");
    }
}
