using System.Text.Json;
using Microsoft.Extensions.Options;
using Serilog;
using Serilog.Extensions.Logging;
using Service.Inference;
using Service.Inference.FillMask;
using Service.Inference.Hosting;
using Service.Inference.Probes;
using Service.Inference.Projection;
using Service.Inference.Runtime;

namespace Service.Api.Commands;

/// <summary>
/// `Service.Api lrp2 &lt;verb&gt;`: LRP2 work too long for an HTTP request, run in place on the
/// configured fill-mask model (same configuration as the service; `--model DIR` and `--cache DIR`
/// override Models:FillMask:Path and Projection:CacheDirectory).
///   vectors      --language fr --file sentences.txt            compute and cache a language's vectors
///   evaluate     --mlama DIR --languages en,fr [--relations P36,P37] [--lirp i --lsrp j] [--out PREFIX]
///   layer-search --mlama DIR --languages en,fr [--relations ...] [--out DIR] [--save]
/// </summary>
public static class Lrp2Command
{
    public static bool Matches(string[] args) => args.Length > 0 && args[0] == "lrp2";

    public static async Task<int> RunAsync(string[] args)
    {
        var options = Options(args.Skip(2));
        try
        {
            using var models = Load(options);
            return args.ElementAtOrDefault(1) switch
            {
                "vectors" => Vectors(models, options),
                "evaluate" => await Evaluate(models, options),
                "layer-search" => await SearchLayers(models, options),
                _ => Usage(),
            };
        }
        catch (Exception e) when (e is InferenceException or ArgumentException or IOException or Inference.Checkpoints.CheckpointException)
        {
            Console.Error.WriteLine($"lrp2: {e.Message}");
            return 1;
        }
    }

    static int Usage()
    {
        Console.Error.WriteLine("usage: lrp2 vectors --language L --file FILE | evaluate --mlama DIR --languages en,L[,...] | layer-search --mlama DIR --languages en,L[,...] [--save]");
        return 2;
    }

    static int Vectors(LoadedModels models, Dictionary<string, string> options)
    {
        var language = LanguageCodes.Normalize(Required(options, "language"));
        var sentences = File.ReadLines(Required(options, "file")).Select(l => l.Trim()).Where(l => l.Length > 0).ToArray();
        var progress = new ConsoleProgress($"vectors {language}");
        var layers = LanguageVectorComputer.Compute(models.Probed, sentences, progress: (done, total) => progress.Report((done, total)));
        models.Projection.Store(language, sentences, layers);
        Console.WriteLine($"{language}: {sentences.Length} sentences, {layers.Length} layers of {layers[0].Length} stored for {models.Probed.Name}");
        return 0;
    }

    static async Task<int> Evaluate(LoadedModels models, Dictionary<string, string> options)
    {
        var facts = ReadFacts(options);
        var layers = options.ContainsKey("lirp") ? new ProjectionRequest(true, int.Parse(options["lirp"]), int.Parse(Required(options, "lsrp"))) : null;
        var report = await ProbeRun.EvaluateAsync(new ProbeEvaluator(models.Probed, models.Projection), models.Projection,
            models.Probed.Name, facts, work => Task.FromResult(work()), layers, new ConsoleProgress("evaluate"));
        var prefix = options.GetValueOrDefault("out", "lrp2-report");
        await File.WriteAllTextAsync(prefix + ".json", JsonSerializer.Serialize(report, new JsonSerializerOptions { WriteIndented = true }));
        await File.WriteAllTextAsync(prefix + ".md", report.ToMarkdown());
        Console.WriteLine(report.ToMarkdown());
        Console.Error.WriteLine($"wrote {prefix}.json and {prefix}.md");
        return 0;
    }

    static async Task<int> SearchLayers(LoadedModels models, Dictionary<string, string> options)
    {
        var facts = ReadFacts(options);
        var output = Directory.CreateDirectory(options.GetValueOrDefault("out", "lrp2-layer-search")).FullName;
        var evaluator = new ProbeEvaluator(models.Probed, models.Projection);
        int layerCount = models.Probed.Model.LayerCount;
        var best = new Dictionary<string, int[]>();
        var table = new System.Text.StringBuilder("| language | best i | best j | Trans | Acc |\n|---|---:|---:|---:|---:|\n");
        foreach (var language in facts.Select(f => f.Language).Distinct().Where(l => l != LanguageCodes.English))
        {
            var scores = await LayerSearch.RunAsync(evaluator, facts, language, layerCount, work => Task.FromResult(work()), new ConsoleProgress($"search {language}"));
            var winner = LayerSearch.Best(scores);
            best[language] = [winner.Lirp, winner.Lsrp];
            table.AppendLine($"| {language} | {winner.Lirp} | {winner.Lsrp} | {winner.Scores.Transferability:0.00} | {winner.Scores.Accuracy:0.00} |");
            await File.WriteAllBytesAsync(Path.Combine(output, $"trans-{language}.png"), HeatMapPng.Render(LayerSearch.TransGrid(scores, layerCount)));
            await File.WriteAllTextAsync(Path.Combine(output, $"scores-{language}.json"), JsonSerializer.Serialize(scores, new JsonSerializerOptions { WriteIndented = true }));
        }
        await File.WriteAllTextAsync(Path.Combine(output, "best-layers.md"), table.ToString());
        Console.WriteLine(table);
        if (options.ContainsKey("save"))
        {
            models.Projection.SaveSearchedLayers(best);
            Console.Error.WriteLine($"saved as the defaults for {models.Probed.Name} (below Projection:Layers in precedence)");
        }
        Console.Error.WriteLine($"wrote heat maps (rows i, columns j) and tables to {output}");
        return 0;
    }

    static List<ProbeFact> ReadFacts(Dictionary<string, string> options)
    {
        var root = Required(options, "mlama");
        var relations = options.TryGetValue("relations", out var r) ? r.Split(',') : null;
        var languages = Required(options, "languages").Split(',').Select(l => LanguageCodes.Normalize(l.Trim())).ToArray();
        return [.. languages.SelectMany(l => MlamaReader.Read(root, l, relations))];
    }

    static LoadedModels Load(Dictionary<string, string> options)
    {
        var configuration = new ConfigurationBuilder()
            .AddJsonFile(Path.Combine(AppContext.BaseDirectory, "appsettings.json"), optional: true)
            .AddEnvironmentVariables()
            .Build();
        T Bind<T>(string section) where T : new() => configuration.GetSection(section).Get<T>() ?? new T();
        var models = Bind<ModelsOptions>("Models");
        var projection = Bind<ProjectionOptions>("Projection");
        if (options.TryGetValue("model", out var model)) models.FillMask.Path = model;
        if (options.TryGetValue("cache", out var cache)) projection.CacheDirectory = cache;
        using var factory = new SerilogLoggerFactory(new LoggerConfiguration().WriteTo.Console(standardErrorFromLevel: Serilog.Events.LogEventLevel.Verbose).CreateLogger(), dispose: true);
        return ModelLoading.Load(models, Bind<InferenceOptions>("Inference"), Bind<FillMaskOptions>("FillMask"), projection, factory.CreateLogger("lrp2"));
    }

    static string Required(Dictionary<string, string> options, string name) =>
        options.TryGetValue(name, out var value) ? value : throw new ArgumentException($"--{name} is required");

    /// <summary>`--name value` pairs; a flag without a value (e.g. --save) maps to "true".</summary>
    static Dictionary<string, string> Options(IEnumerable<string> args)
    {
        var list = args.ToList();
        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        for (int i = 0; i < list.Count; i++)
        {
            if (!list[i].StartsWith("--", StringComparison.Ordinal)) throw new ArgumentException($"unexpected argument '{list[i]}'");
            bool hasValue = i + 1 < list.Count && !list[i + 1].StartsWith("--", StringComparison.Ordinal);
            options[list[i][2..]] = hasValue ? list[++i] : "true";
        }
        return options;
    }
}
