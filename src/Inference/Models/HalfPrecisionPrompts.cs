using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Service.Inference.Models;

/// <summary>
/// Prompt products of a half-precision model on the CPU, where libtorch's own are slow. A Llama / Qwen2 there computes
/// in float32 (LlamaModel.ActivationType): its float32 rows meet the weight widened to float32, float32 out. Rows in the
/// dtype itself (other families): a product of at least <see cref="WidenFromRows"/> rows (a prompt chunk; fewer rows are
/// decode steps, which DecodeProjection's kernel takes) is computed in float32 likewise and rounded back to the dtype once.
/// float16: libtorch's matrix product is slow once it has more than a few rows (a 30-token Qwen2-0.5B prompt: 1.6 s
/// through it, 1.0 s widened, llama.cpp 0.84 s; 128 tokens: widened 2.1 s).
/// bfloat16: without AVX-512 BF16 or AMX (`avx512_bf16`, `amx_bf16` in /proc/cpuinfo) libtorch's bfloat16 matrix
/// product is a one-thread scalar loop (30 tokens: 1.8 s, widened 1.05 s, llama.cpp 1.02 s). With those instructions
/// libtorch's bfloat16 GEMM is the fast one and is kept.
/// Widening into one reused float32 buffer instead of a new tensor per product gained only 3 % and would keep a
/// buffer as large as the largest matrix (235 MB for Llama 3 8B), so it is not done. float32 and CUDA are untouched.
/// </summary>
public static class HalfPrecisionPrompts
{
    /// <summary>The first row count past a decode step's (<see cref="Decode.DecodeProjection.MaxRows"/>).</summary>
    public const int WidenFromRows = Decode.DecodeProjection.MaxRows + 1;

    /// <summary>True when the CPU has bfloat16 instructions that libtorch's GEMM uses (Linux; false elsewhere).</summary>
    public static bool NativeBFloat16 { get; } = ReadNativeBFloat16();

    public static Tensor Linear(Linear layer, Tensor x) => Linear(layer.weight!, layer.bias, x);

    /// <summary>
    /// x W^T + b. float32 rows with a half-precision weight (a bfloat16/float16 Llama on the CPU computes in float32):
    /// the weight widened, float32 out. Half-precision rows: widened and rounded back as above where that is faster,
    /// else libtorch's product in the dtype.
    /// </summary>
    public static Tensor Linear(Tensor weight, Tensor? bias, Tensor x)
    {
        bool float32Rows = x.dtype == ScalarType.Float32 && weight.dtype is ScalarType.BFloat16 or ScalarType.Float16;
        if (!float32Rows && !Widens(x)) return F.linear(x, weight, bias);
        using var scope = torch.NewDisposeScope(); // the float32 copies of the weight and rows go at once
        var product = F.linear(x.to(ScalarType.Float32), weight.to(ScalarType.Float32), bias?.to(ScalarType.Float32));
        return scope.MoveToOuter(float32Rows ? product : product.to(x.dtype));
    }

    static bool Widens(Tensor x)
    {
        if (x.device_type != DeviceType.CPU) return false;
        long rows = x.numel() / x.shape[^1];
        return x.dtype switch
        {
            ScalarType.Float16 => rows >= WidenFromRows,
            ScalarType.BFloat16 => rows >= WidenFromRows && !NativeBFloat16,
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
