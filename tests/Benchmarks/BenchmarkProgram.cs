using System.Diagnostics;
using System.Globalization;

namespace Service.Benchmarks;

/// <summary>
/// `dotnet run -c Release --project tests/Benchmarks -- [--quick] [--chat-dtypes float32,bfloat16,float16] [--out BENCHMARKS.md]`: measures the
/// machine's limits, then fill-mask and chat against them, and writes the Markdown report and its plot.
/// </summary>
public static class BenchmarkProgram
{
    /// <summary>Hand-written notes after this line of an existing report survive a rerun.</summary>
    public const string NotesMarker = "<!-- notes: kept when the benchmark rewrites this file -->";

    public static async Task<int> Main(string[] args)
    {
        Inference.Runtime.TorchRuntime.PrepareNativeThreading(); // as the service does, before libtorch loads
        CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
        CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
        bool quick = args.Contains("--quick"), peers = args.Contains("--peers"), decodeOnly = args.Contains("--decode-peers");
        string? Value(string option) => Array.IndexOf(args, option) is int at and >= 0 && at + 1 < args.Length ? args[at + 1] : null;
        string? output = Value("--out"), dtypes = Value("--chat-dtypes");
        string[] valued = ["--out", "--chat-dtypes"];
        var unknown = args.Where((a, i) => a != "--quick" && a != "--peers" && a != "--decode-peers" && a != "--decode-profile" && !valued.Contains(a) && !(i > 0 && valued.Contains(args[i - 1]))).ToArray();
        // `--chat-dtypes none` skips the chat phase (a look at fill-mask alone).
        string[]? chatDTypes = dtypes == "none" ? [] : dtypes?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (unknown.Length > 0 || (args.Contains("--out") && output is null) || (args.Contains("--chat-dtypes") && dtypes is null)
            || chatDTypes?.Any(d => d is not ("float32" or "bfloat16" or "float16") && !(decodeOnly && d == "int8")) == true)
        {
            Console.Error.WriteLine("usage: dotnet run -c Release --project tests/Benchmarks -- [--quick [--peers]] [--chat-dtypes float32,bfloat16,float16|none] [--out BENCHMARKS.md]");
            Console.Error.WriteLine("   or: dotnet run -c Release --project tests/Benchmarks -- --decode-peers [--chat-dtypes float32,bfloat16,float16,int8]  (batch-1 decode against llama.cpp only; int8 meets Q8_0)");
            Console.Error.WriteLine("   or: dotnet run -c Release --project tests/Benchmarks -- --decode-profile [--chat-dtypes bfloat16]  (where a decode step's time goes)");
            return 2;
        }
        var command = "dotnet run -c Release --project tests/Benchmarks --" + (quick ? " --quick" : "") + (quick && peers ? " --peers" : "")
            + (dtypes is null ? "" : $" --chat-dtypes {dtypes}") + (output is null ? "" : $" --out {Path.GetFileName(output)}");
        var settings = quick ? BenchmarkSettings.QuickRun with { Peers = peers } : BenchmarkSettings.Full;
        if (chatDTypes is not null) settings = settings with { ChatDTypes = chatDTypes };
        if (args.Contains("--decode-profile"))
        {
            Peers.DecodeProfile.Run(BenchmarkSettings.Full.ChatConfig, (chatDTypes?[0] switch { "bfloat16" => TorchSharp.torch.ScalarType.BFloat16, "float16" => TorchSharp.torch.ScalarType.Float16, _ => TorchSharp.torch.ScalarType.Float32 }), Console.Out);
            return 0;
        }
        if (decodeOnly)
        {
            await Peers.DecodePeerRun.RunAsync(BenchmarkSettings.Full with { ChatDTypes = chatDTypes ?? ["float32"] }, Console.Out);
            return 0;
        }
        var report = await RunAsync(settings, command, Console.Out);
        var markdown = report.ToMarkdown();
        if (output is null)
        {
            Console.WriteLine(markdown);
            return 0;
        }
        var full = Path.GetFullPath(output);
        if (File.Exists(full) && File.ReadAllText(full) is var old && old.IndexOf(NotesMarker, StringComparison.Ordinal) is int at and >= 0)
            markdown += old[at..];
        File.WriteAllText(full, markdown);
        File.WriteAllBytes(Path.Combine(Path.GetDirectoryName(full)!, BenchmarkReport.PlotFile), report.RenderPlot());
        Console.WriteLine($"Wrote {full} and {BenchmarkReport.PlotFile}");
        return 0;
    }

    /// <summary>The whole run: limits, fill-mask, chat. The smoke test calls this with the quick settings.</summary>
    public static async Task<BenchmarkReport> RunAsync(BenchmarkSettings settings, string command, TextWriter log)
    {
        var started = DateTimeOffset.UtcNow;
        var clock = Stopwatch.StartNew();
        var machine = MachineInfo.Describe();
        log.WriteLine($"{machine.CpuModel}, {machine.LogicalCpus} CPUs, load {machine.LoadAtStart}");
        var limits = MachineLimits.Measure(settings, log);
        var fillMask = await FillMaskBenchmark.RunAsync(settings, limits, log);
        var chat = new List<ChatReport>();
        foreach (var dtype in settings.ChatDTypes) chat.Add(await ChatBenchmark.RunAsync(settings, dtype, limits, log));
        return new BenchmarkReport(settings, machine, limits, command, started, clock.Elapsed, MachineInfo.CurrentLoad(), fillMask, chat);
    }
}
