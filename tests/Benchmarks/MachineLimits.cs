using TorchSharp;
using static TorchSharp.torch;

namespace Service.Benchmarks;

/// <summary>The machine's limits, measured in the same run as the benchmarks they bound.</summary>
/// <param name="LibTorchGemmFlopsPerSecond">Square float32 matmul rate of libtorch with one intra-op thread per core.</param>
/// <param name="OnnxGemmFlopsPerSecond">ONNX Runtime's float32 rate at the fill-mask feed-forward shape (NaN when it could not run: <paramref name="OnnxSkipped"/>).</param>
/// <param name="GemmBf16FlopsPerSecond">The same matmul in bfloat16: the compute bound of a bfloat16 model.</param>
/// <param name="CopyBytesPerSecond">Large tensor copy, bytes read plus bytes written per second.</param>
/// <param name="ReadBytesPerSecond">Large tensor `sum`, bytes read per second: what streaming weights can reach.</param>
/// <param name="MatVecBytesPerSecond">Batch-1 float32 matrix-vector product: matrix bytes streamed per second.</param>
/// <param name="MatVecBf16BytesPerSecond">The same product with bfloat16 row and matrix.</param>
/// <param name="MatVecF16BytesPerSecond">The same product with float16 row and matrix.</param>
public sealed record MachineLimits(int Threads, int GemmSize, double LibTorchGemmFlopsPerSecond, double GemmBf16FlopsPerSecond, long CopyBytes, double CopyBytesPerSecond,
    double ReadBytesPerSecond, int MatVecSize, double MatVecBytesPerSecond, double MatVecBf16BytesPerSecond, double MatVecF16BytesPerSecond,
    double OnnxGemmFlopsPerSecond = double.NaN, string OnnxGemmShape = "", string? OnnxSkipped = null)
{
    /// <summary>
    /// The float32 compute bound: the best GEMM rate any kernel reached in this run (libtorch's large
    /// square matmul or ONNX Runtime's at the fill-mask shape), so ratios are against the machine.
    /// </summary>
    public double GemmFlopsPerSecond => double.IsFinite(OnnxGemmFlopsPerSecond) ? Math.Max(LibTorchGemmFlopsPerSecond, OnnxGemmFlopsPerSecond) : LibTorchGemmFlopsPerSecond;

    /// <summary>Matrix elements per second of a half-precision matvec rate, relative to float32's.</summary>
    public double ParametersRelativeToFloat32(double halfBytesPerSecond) => halfBytesPerSecond / 2 / (MatVecBytesPerSecond / 4);

    public static MachineLimits Measure(BenchmarkSettings settings, TextWriter log)
    {
        int threads = Environment.ProcessorCount;
        torch.set_num_threads(threads);
        using var mode = torch.inference_mode();

        int n = settings.GemmSize;
        double Gemm(ScalarType dtype)
        {
            using var scope = torch.NewDisposeScope();
            var a = torch.randn(n, n).to(dtype);
            var b = torch.randn(n, n).to(dtype);
            var times = Benchmarks.Measure.Times(3, settings.MachineIterations, () => { using var c = a.mm(b); });
            return 2.0 * n * n * n / (Benchmarks.Measure.Median(times) / 1000);
        }
        // Without native bfloat16 instructions (AVX-512 BF16, AMX) libtorch's bfloat16 GEMM is a scalar
        // one-thread loop taking minutes per product: measured only when a bfloat16 chat run needs its bound.
        // There bfloat16 prompts are multiplied in float32 (HalfPrecisionPrompts), so float32's rate is their bound.
        double gemm = Gemm(ScalarType.Float32),
            gemmBf16 = settings.ChatDTypes.Contains("bfloat16") && Inference.Models.HalfPrecisionPrompts.NativeBFloat16 ? Gemm(ScalarType.BFloat16) : double.NaN;
        log.WriteLine($"GEMM {n}x{n}, {threads} threads: {gemm / 1e9:F1} GFLOP/s float32, {gemmBf16 / 1e9:F1} bfloat16");

        long elements = settings.CopyBytes / sizeof(float);
        double copy, read;
        using (var scope = torch.NewDisposeScope())
        {
            var source = torch.rand(elements);
            var target = torch.empty(elements);
            var times = Benchmarks.Measure.Times(2, settings.MachineIterations, () => target.copy_(source));
            copy = 2.0 * elements * sizeof(float) / (Benchmarks.Measure.Median(times) / 1000);
            // A reduction reads every byte once and writes one number: the bound of weight streaming.
            times = Benchmarks.Measure.Times(2, settings.MachineIterations, () => { using var total = source.sum(); });
            read = (double)elements * sizeof(float) / (Benchmarks.Measure.Median(times) / 1000);
        }
        log.WriteLine($"Copy {settings.CopyBytes >> 20} MiB: {copy / 1e9:F1} GB/s (read + write); sum: {read / 1e9:F1} GB/s read");

        int m = settings.MatVecSize;
        double MatVec(ScalarType dtype)
        {
            using var scope = torch.NewDisposeScope();
            var w = torch.randn(m, m).to(dtype);
            var x = torch.randn(1, m).to(dtype);
            // As nn.Linear does it: y = x W^T, W stored [out, in].
            var times = Benchmarks.Measure.Times(3, settings.MachineIterations * 4, () => { using var y = nn.functional.linear(x, w); });
            return (double)m * m * w.element_size() / (Benchmarks.Measure.Median(times) / 1000);
        }
        double matvec = MatVec(ScalarType.Float32), bf16 = MatVec(ScalarType.BFloat16), f16 = MatVec(ScalarType.Float16);
        log.WriteLine($"Batch-1 matvec {m}x{m}: {matvec / 1e9:F1} GB/s of weights (float32), {bf16 / 1e9:F1} (bfloat16), {f16 / 1e9:F1} (float16)");
        var limits = new MachineLimits(threads, n, gemm, gemmBf16, settings.CopyBytes, copy, read, m, matvec, bf16, f16);
        if (!settings.Peers) return limits with { OnnxSkipped = "quick mode runs no peers" };
        // The fill-mask feed-forward up projection at the query length: the largest products of a BERT pass.
        var bert = settings.FillMaskConfig;
        var (onnx, skipped) = Peers.OnnxPeer.GemmRate(settings.QueryTokens, bert.HiddenSize, bert.IntermediateSize, settings.MachineIterations * 10);
        string shape = $"[{settings.QueryTokens}, {bert.HiddenSize}] x [{bert.HiddenSize}, {bert.IntermediateSize}]";
        log.WriteLine(skipped is null ? $"ONNX Runtime GEMM {shape}: {onnx / 1e9:F1} GFLOP/s" : $"ONNX Runtime GEMM skipped: {skipped}");
        return limits with { OnnxGemmFlopsPerSecond = onnx, OnnxGemmShape = shape, OnnxSkipped = skipped };
    }
}
