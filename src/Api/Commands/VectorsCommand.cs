using System.CommandLine;
using Service.Inference.Projection;

namespace Service.Api.Commands;

/// <summary>`lrp2 vectors`: compute a language's vectors from a file of sentences and store them in the cache.</summary>
static class VectorsCommand
{
    public static Command Create(TextWriter error)
    {
        var model = Lrp2Options.Model();
        var cache = Lrp2Options.Cache();
        var language = new Option<string>("--language") { Description = "ISO 639 code of the sentences' language, e.g. fr", Required = true };
        var file = new Option<FileInfo>("--file") { Description = "UTF-8 text, one sentence per line (e.g. from OPUS-100)", Required = true }.AcceptExistingOnly();
        var command = new Command("vectors", "Compute and cache a language's LRP2 vectors from sentences") { model, cache, language, file };
        command.SetAction(async (parse, cancellation) =>
        {
            var code = LanguageCodes.Normalize(parse.GetRequiredValue(language), "--language");
            var sentences = File.ReadLines(parse.GetRequiredValue(file).FullName).Select(l => l.Trim()).Where(l => l.Length > 0).ToArray();
            if (sentences.Length == 0) throw new ArgumentException($"{parse.GetRequiredValue(file).Name} holds no sentences.");
            await using var host = await CommandHost.StartAsync(parse.GetValue(model), parse.GetValue(cache));
            var progress = new ConsoleProgress(error, $"vectors {code}");
            var layers = await host.ModelHost.RunAsync(models =>
            {
                var computed = LanguageVectorComputer.Compute(models.Probed, sentences, progress: (done, total) => progress.Report((done, total)));
                models.Projection.Store(code, sentences, computed);
                return computed;
            }, cancellation);
            await parse.InvocationConfiguration.Output.WriteLineAsync(
                $"{code}: {sentences.Length} sentences, {layers.Length} layers of {layers[0].Length} stored for {host.ModelName}");
            return 0;
        });
        return command;
    }
}
