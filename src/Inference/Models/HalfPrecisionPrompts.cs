using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Service.Inference.Models;

/// <summary>
/// libtorch's CPU float16 matrix product is slow once it has more than a few rows, while its
/// float16 matrix-vector product streams weights fastest of all dtypes (BENCHMARKS.md): a float16
/// model decodes fastest and reads prompts slowest. Measured here (interleaved, shared machine) on
/// the seven products of a Qwen2-0.5B block: widening weight and rows to float32, multiplying there
/// and rounding back takes 0.5x the float16 kernel's time at 64-96 rows, 0.7x at 128, 0.4x at 512,
/// but 1.4x at 32-48 rows. So on the CPU, a product of at least <see cref="WidenFromRows"/> rows (a
/// prompt chunk) is computed in float32 and rounded back to
/// float16; fewer rows keep libtorch's float16 kernel, which decode steps (up to 8 streams) reach only
/// on a CPU without AVX2/FMA: elsewhere DecodeProjection sends them to its own kernel first. Only
/// float16 CPU tensors take this path: bfloat16, float32 and CUDA are untouched.
/// </summary>
public static class HalfPrecisionPrompts
{
    /// <summary>Below this many rows the float16 kernel was as fast or faster (1 to 48 rows measured).</summary>
    public const int WidenFromRows = 64;

    public static Tensor Linear(Linear layer, Tensor x)
    {
        if (x.dtype != ScalarType.Float16 || x.device_type != DeviceType.CPU || x.numel() / x.shape[^1] < WidenFromRows)
            return layer.forward(x);
        using var scope = torch.NewDisposeScope(); // the float32 copies of the weight and rows go at once
        var product = F.linear(x.to(ScalarType.Float32), layer.weight!.to(ScalarType.Float32), layer.bias?.to(ScalarType.Float32));
        return scope.MoveToOuter(product.to(ScalarType.Float16));
    }
}
