using System.CommandLine;
using Service.Inference.Probes;
using Service.Inference.Projection;

namespace Service.Api.Commands;

/// <summary>`lrp2 evaluate`: Acc and Trans on mLAMA without and with projection, whole or one shard of the facts.</summary>
static class EvaluateCommand
{
    public static Command Create(TextWriter error)
    {
        var model = Lrp2Options.Model();
        var cache = Lrp2Options.Cache();
        var mlama = Lrp2Options.Mlama();
        var languages = Lrp2Options.Languages();
        var relations = Lrp2Options.Relations();
        var lirp = Lrp2Options.WholeNumber("--lirp", "LIRP layer i for every language (with --lsrp; default: each language's configured, searched or paper layers)");
        var lsrp = Lrp2Options.WholeNumber("--lsrp", "LSRP layer j, i < j <= L");
        var output = new Option<string>("--out") { Description = "Report path prefix: writes PREFIX.json and PREFIX.md (a shard: PREFIX.part-K-of-N.json)", DefaultValueFactory = _ => "lrp2-report" };
        var shard = Lrp2Options.ShardIndex();
        var shards = Lrp2Options.ShardCount();
        var command = new Command("evaluate", "Acc and Trans per language on mLAMA, without and with LRP2 projection")
        { model, cache, mlama, languages, relations, lirp, lsrp, output, shard, shards };
        Lrp2Options.ValidateShard(command, shard, shards);
        command.Validators.Add(result =>
        {
            if (Lrp2Options.Value(result, lirp) is null != Lrp2Options.Value(result, lsrp) is null) result.AddError("--lirp and --lsrp go together.");
        });
        command.SetAction(async (parse, cancellation) =>
        {
            var facts = Lrp2Options.ReadFacts(parse, mlama, languages, relations);
            var part = Lrp2Options.Shard(parse, shard, shards);
            var layers = parse.GetValue(lirp) is int i ? new ProjectionRequest(true, i, parse.GetValue(lsrp)) : null;
            var prefix = parse.GetRequiredValue(output);
            await using var host = await CommandHost.StartAsync(parse.GetValue(model), parse.GetValue(cache));
            var result = await ProbeRun.EvaluateShardAsync(host.Evaluator(), host.Models.Projection, host.ModelName,
                facts, part, host.Execute, layers, new ConsoleProgress(error, $"evaluate {part}"), cancellation);
            if (part.Count > 1)
            {
                var path = await ResultFiles.WritePartAsync(result, $"{prefix}.{ResultFiles.PartName(part)}");
                await error.WriteLineAsync($"wrote shard {part}: {path}; combine all shards with `lrp2 merge`");
                return 0;
            }
            await parse.InvocationConfiguration.Output.WriteLineAsync(await ResultFiles.WriteEvaluationAsync(result, prefix));
            await error.WriteLineAsync($"wrote {prefix}.json and {prefix}.md");
            return 0;
        });
        return command;
    }
}
