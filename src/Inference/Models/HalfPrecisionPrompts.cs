using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Service.Inference.Models;

/// <summary>
/// Prompt products of a half-precision model on the CPU, where libtorch's own are slow: such a product is
/// computed in float32 (weight and rows widened, exactly) and rounded back to the dtype once.
/// float16: libtorch's matrix product is slow once it has more than a few rows, while its matrix-vector
/// product is fast. Measured here (interleaved, shared machine) on the seven products of a Qwen2-0.5B block:
/// widening takes 0.5x the float16 kernel's time at 64-96 rows, 0.7x at 128, 0.4x at 512, but 1.4x at 32-48
/// rows; so from <see cref="WidenFromRows"/> rows.
/// bfloat16: without AVX-512 BF16 or AMX (`avx512_bf16`, `amx_bf16` in /proc/cpuinfo) libtorch's bfloat16 matrix
/// product is a one-thread scalar loop (a 30-token Qwen2-0.5B prompt took 1.9 s, llama.cpp 1.0 s); so on such a CPU
/// every product past a decode step's rows (which DecodeProjection's kernel takes) is widened. With those
/// instructions libtorch's bfloat16 GEMM is the fast one and is kept.
/// Decode steps reach this class only on a CPU without AVX2/FMA. float32 and CUDA are untouched.
/// </summary>
public static class HalfPrecisionPrompts
{
    /// <summary>Below this many rows the float16 kernel was as fast or faster (1 to 48 rows measured).</summary>
    public const int WidenFromRows = 64;

    /// <summary>True when the CPU has bfloat16 instructions that libtorch's GEMM uses (Linux; false elsewhere).</summary>
    public static bool NativeBFloat16 { get; } = ReadNativeBFloat16();

    public static Tensor Linear(Linear layer, Tensor x)
    {
        if (!Widens(x)) return layer.forward(x);
        using var scope = torch.NewDisposeScope(); // the float32 copies of the weight and rows go at once
        var product = F.linear(x.to(ScalarType.Float32), layer.weight!.to(ScalarType.Float32), layer.bias?.to(ScalarType.Float32));
        return scope.MoveToOuter(product.to(x.dtype));
    }

    static bool Widens(Tensor x)
    {
        if (x.device_type != DeviceType.CPU) return false;
        long rows = x.numel() / x.shape[^1];
        return x.dtype switch
        {
            ScalarType.Float16 => rows >= WidenFromRows,
            ScalarType.BFloat16 => !NativeBFloat16 && rows > Decode.DecodeProjection.MaxRows,
            _ => false,
        };
    }

    static bool ReadNativeBFloat16()
    {
        try
        {
            if (!File.Exists("/proc/cpuinfo")) return false;
            var flags = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("flags", StringComparison.Ordinal)) ?? "";
            return flags.Split(' ', ':', '\t').Any(f => f is "avx512_bf16" or "amx_bf16");
        }
        catch (IOException) { return false; }
        catch (UnauthorizedAccessException) { return false; }
    }
}
