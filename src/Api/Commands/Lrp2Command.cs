using System.CommandLine;
using System.Text.Json;
using Service.Inference;
using Service.Inference.Checkpoints;
using Service.Inference.Hosting;

namespace Service.Api.Commands;

/// <summary>
/// `Service.Api lrp2 &lt;verb&gt;`: LRP2 work too long for an HTTP request (vectors, evaluate,
/// layer-search, merge), on the service's own host builder and configuration. `--help` lists the
/// options; a bad option is one line on stderr and exit code 2, a failure in the work exit code 1.
/// </summary>
public static class Lrp2Command
{
    public const int Failed = 1, Usage = 2;

    public static bool Matches(string[] args) => args.Length > 0 && args[0] == "lrp2";

    public static async Task<int> RunAsync(string[] args, TextWriter? output = null, TextWriter? error = null, CancellationToken cancellation = default)
    {
        output ??= Console.Out;
        error ??= Console.Error;
        var parsed = Parse(args, error);
        if (parsed.Errors.Count > 0)
        {
            var verb = string.Join(' ', args.TakeWhile(a => !a.StartsWith('-')).Take(2));
            await error.WriteLineAsync($"lrp2: {string.Join(" ", parsed.Errors.Select(e => e.Message))} (see '{verb} --help')");
            return Usage;
        }
        try
        {
            return await parsed.InvokeAsync(new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false }, cancellation);
        }
        catch (Exception e) when (e is CommandException or InferenceException or ArgumentException or IOException or UnauthorizedAccessException or CheckpointException or JsonException)
        {
            // Wrong data, paths or models are the user's to fix: the message says what, a stack trace would not.
            await error.WriteLineAsync($"lrp2: {e.Message}");
            return Failed;
        }
    }

    /// <summary>The parsed command line, without running it (the deployment tests check the Jobs' arguments with it).</summary>
    public static ParseResult Parse(string[] args, TextWriter? error = null)
    {
        error ??= Console.Error;
        var lrp2 = new Command("lrp2", "LRP2 language vectors, evaluation and layer search on the configured fill-mask model " +
            "(appsettings.json and environment variables as the service reads them; --model and --cache override them).")
        {
            VectorsCommand.Create(error),
            EvaluateCommand.Create(error),
            LayerSearchCommand.Create(error),
            MergeCommand.Create(error),
        };
        return new RootCommand("Multilingual probing service") { lrp2 }.Parse(args);
    }
}
