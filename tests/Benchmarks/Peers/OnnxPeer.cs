using System.Diagnostics;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Service.Benchmarks.Peers;

/// <summary>
/// ONNX Runtime (CPU provider, ORT_ENABLE_ALL, one intra-op thread per core) on graphs exported from the
/// benchmark's own weights by Debian's PyTorch (Peers/export_bert_onnx.py). When /usr/bin/python3 has
/// no torch, every ONNX figure is skipped with that reason.
/// </summary>
public sealed class OnnxPeer : IDisposable
{
    const string Python = "/usr/bin/python3";
    readonly InferenceSession _session;

    OnnxPeer(string model) => _session = new InferenceSession(model, Options());

    public static SessionOptions Options() => new()
    {
        GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
        IntraOpNumThreads = Environment.ProcessorCount,
        InterOpNumThreads = 1,
        ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
    };

    /// <summary>Why ONNX Runtime cannot run here, or null when the exporter is available.</summary>
    public static string? Unavailable()
    {
        if (!File.Exists(Python)) return $"{Python} is missing (the ONNX graph is exported by Debian's python3-torch)";
        var (code, error) = RunPython(["-c", "import torch, numpy"], TimeSpan.FromMinutes(2));
        return code == 0 ? null : $"{Python} cannot import torch and numpy ({Tail(error)}): `apt-get install -y python3-torch python3-numpy`";
    }

    /// <summary>Exports the fill-mask checkpoint (head at the mask only) and opens it, or says why not.</summary>
    public static (OnnxPeer? Peer, string? Skipped, double ExportSeconds) OpenFillMask(string checkpointDirectory, string workDirectory)
    {
        if (Unavailable() is { } reason) return (null, reason, 0);
        var clock = Stopwatch.StartNew();
        var model = Path.Combine(workDirectory, "fill-mask.onnx");
        var (code, error) = RunPython([Script, checkpointDirectory, model], TimeSpan.FromMinutes(15));
        if (code != 0) return (null, $"the ONNX export failed: {Tail(error)}", 0);
        return (new OnnxPeer(model), null, clock.Elapsed.TotalSeconds);
    }

    /// <summary>
    /// ONNX Runtime's rate for x [1, rows, in] times a constant [in, out] matrix (FLOP/s, median of
    /// <paramref name="iterations"/>), or NaN and the reason when it cannot run.
    /// </summary>
    public static (double FlopsPerSecond, string? Skipped) GemmRate(int rows, int inputs, int outputs, int iterations)
    {
        if (Unavailable() is { } reason) return (double.NaN, reason);
        var directory = Directory.CreateTempSubdirectory("bench-onnx-gemm-").FullName;
        try
        {
            var model = Path.Combine(directory, "linear.onnx");
            var (code, error) = RunPython([Script, "--matmul", $"{rows}", $"{inputs}", $"{outputs}", model], TimeSpan.FromMinutes(5));
            if (code != 0) return (double.NaN, $"the ONNX export failed: {Tail(error)}");
            using var session = new InferenceSession(model, Options());
            var x = new DenseTensor<float>(Enumerable.Range(0, rows * inputs).Select(i => (float)Math.Sin(i)).ToArray(), [1, rows, inputs]);
            var input = new[] { NamedOnnxValue.CreateFromTensor("x", x) };
            var times = Measure.Times(5, iterations, () => { using var y = session.Run(input); });
            return (2.0 * rows * inputs * outputs / (Measure.Median(times) / 1000), null);
        }
        finally
        {
            try { Directory.Delete(directory, recursive: true); } catch (IOException) { }
        }
    }

    /// <summary>Vocabulary logits at each row's mask: rows of equal length (the benchmark's queries are).</summary>
    public float[][] MaskLogits(IReadOnlyList<int[]> rows, IReadOnlyList<int> maskIndex)
    {
        int b = rows.Count, t = rows[0].Length;
        if (rows.Any(r => r.Length != t)) throw new ArgumentException("ONNX peer rows must have equal lengths.", nameof(rows));
        var ids = new DenseTensor<long>(rows.SelectMany(r => r.Select(i => (long)i)).ToArray(), [b, t]);
        var mask = new DenseTensor<long>(Enumerable.Repeat(1L, b * t).ToArray(), [b, t]);
        var index = new DenseTensor<long>(maskIndex.Select(i => (long)i).ToArray(), [b]);
        using var results = _session.Run(
        [
            NamedOnnxValue.CreateFromTensor("input_ids", ids), NamedOnnxValue.CreateFromTensor("attention_mask", mask),
            NamedOnnxValue.CreateFromTensor("mask_index", index),
        ]);
        var logits = results.First().AsTensor<float>();
        int v = logits.Dimensions[1];
        var flat = logits.ToArray();
        return [.. Enumerable.Range(0, b).Select(r => flat.AsSpan(r * v, v).ToArray())];
    }

    public void Dispose() => _session.Dispose();

    static string Script => Path.Combine(AppContext.BaseDirectory, "Peers", "export_bert_onnx.py");

    static string Tail(string text) => text.Length <= 300 ? text.Trim() : "..." + text[^300..].Trim();

    static (int Code, string Error) RunPython(string[] args, TimeSpan timeout)
    {
        var start = new ProcessStartInfo(Python) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in args) start.ArgumentList.Add(a);
        // One thread per core for the export as well; the benchmark is not timing it.
        using var process = Process.Start(start)!;
        var error = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            return (-1, $"timed out after {timeout.TotalMinutes:F0} min");
        }
        return (process.ExitCode, error.Result + output.Result);
    }
}
