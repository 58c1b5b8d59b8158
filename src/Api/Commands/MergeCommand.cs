using System.CommandLine;
using Service.Inference.Probes;

namespace Service.Api.Commands;

/// <summary>`lrp2 merge`: combines the shards of one evaluate or layer-search run into the report a single run writes.</summary>
static class MergeCommand
{
    public static Command Create(TextWriter error)
    {
        var parts = new Argument<string[]>("parts") { Description = "part-K-of-N.json files, or directories holding them", Arity = ArgumentArity.OneOrMore };
        var output = new Option<string?>("--out") { Description = "evaluate: report path prefix (default lrp2-report); layer-search: output directory (default lrp2-layer-search)" };
        var save = new Option<bool>("--save") { Description = "layer-search: make the best pairs the model's default layers (loads the model: give --model/--cache as for the search)" };
        var model = Lrp2Options.Model();
        var cache = Lrp2Options.Cache();
        var command = new Command("merge", "Combine the partial results of `--shard K --shards N` runs into one report") { parts, output, save, model, cache };
        command.SetAction(async (parse, cancellation) =>
        {
            var read = ResultFiles.ReadParts(parse.GetRequiredValue(parts));
            if (read[0] is EvaluationPart)
            {
                var merged = EvaluationPart.Merge(read);
                var prefix = parse.GetValue(output) ?? "lrp2-report";
                await parse.InvocationConfiguration.Output.WriteLineAsync(await ResultFiles.WriteEvaluationAsync(merged, prefix));
                await error.WriteLineAsync($"merged {read.Count} shards into {prefix}.json and {prefix}.md");
                return 0;
            }
            var search = LayerSearchPart.Merge(read);
            var directory = parse.GetValue(output) ?? "lrp2-layer-search";
            var (best, table) = await ResultFiles.WriteLayerSearchAsync(search, directory);
            await parse.InvocationConfiguration.Output.WriteLineAsync(table);
            if (parse.GetValue(save))
            {
                await using var host = await CommandHost.StartAsync(parse.GetValue(model), parse.GetValue(cache));
                if (host.ModelName != search.Model) throw new CommandException($"the parts are from {search.Model}, the configured model is {host.ModelName}.");
                LayerSearchCommand.Save(host, best, error);
            }
            await error.WriteLineAsync($"merged {read.Count} shards into {Path.GetFullPath(directory)}");
            return 0;
        });
        return command;
    }
}
