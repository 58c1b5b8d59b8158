using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Service.Inference.Models.Decode;

/// <summary>
/// Linear layers of a decoder, dispatched by shape: a decode step (at most <see cref="MaxRows"/>
/// rows on the CPU, a row-major weight) goes to <see cref="MatVecKernel"/> (or, int8, <see cref="Int8DotKernel"/>)
/// across the <see cref="CoreTeam"/>; everything else (prompts, CUDA) to libtorch exactly as before. Why by hand:
/// libtorch's float32 matrix-vector product streams the weight at ~13 GB/s on a machine that reads 20 GB/s (BENCHMARKS.md),
/// its bfloat16 one is a scalar loop without AVX-512 BF16, while llama.cpp decodes near the read limit
/// on the same weights; a decode step is nothing but such products.
/// Weights are float32, int8 (float32 activations, quantised per block of 32 for integer dot products) or, in a
/// bfloat16/float16 model, that dtype with activations of the same dtype: those rows are widened to float32 (exact),
/// the products summed in float32 and the result rounded to the model's dtype (to nearest, ties to even), the bias
/// added as libtorch's own CPU linear adds it for these dtypes.
/// </summary>
public static class DecodeProjection
{
    /// <summary>Decode batches up to this many rows (the scheduler's streams) take the kernel; longer inputs are prompts for libtorch's GEMM.</summary>
    public const int MaxRows = 8;

    /// <summary>Output rows per claimed chunk: big enough that claiming is negligible, small enough to balance two cores on a 128-row product.</summary>
    const int MinChunkRows = 32;

    /// <summary>
    /// About this many chunks per product (of at least <see cref="MinChunkRows"/> rows): each thread then reads a few long
    /// runs of consecutive weight rows, which the hardware prefetcher follows, rather than a new 32-row run per claim
    /// (measured idle on the Qwen2-0.5B step: 8 chunks 103-105 ms against 110 ms with 32-row chunks at batch 1, 176 against 190 at batch 8).
    /// </summary>
    const int ChunksPerProduct = 8;

    static int ChunkRowsFor(int outFeatures) => Math.Max(MinChunkRows, (outFeatures / ChunksPerProduct + 3) & ~3);

    /// <summary>True when this model's weights should stay row-major for the kernel (a float32, bfloat16 or float16 matrix on a CPU with AVX2 and FMA).</summary>
    public static bool Applies(Tensor weight) =>
        MatVecKernel.Supported && weight.device_type == DeviceType.CPU && weight.dim() == 2 && Type(weight.dtype) is WeightType.Float32 or WeightType.BFloat16 or WeightType.Float16;

    public static Tensor Linear(Linear layer, Tensor x)
    {
        var weight = layer.weight!;
        var scales = Int8Weights.Scales(layer, weight);
        if (KernelReads(weight, x)) return Multiply(weight, scales, layer.bias, x);
        return scales is null ? HalfPrecisionPrompts.Linear(layer, x) : Dequantized(weight, scales, layer.bias, x);
    }

    /// <summary>The vocabulary head tied to the input embeddings: x E^T.</summary>
    public static Tensor Linear(Embedding tied, Tensor x)
    {
        var weight = tied.weight!;
        var scales = Int8Weights.Scales(tied, weight);
        if (KernelReads(weight, x)) return Multiply(weight, scales, null, x);
        return scales is null ? HalfPrecisionPrompts.Linear(weight, null, x) : Dequantized(weight, scales, null, x);
    }

    /// <summary>x W^T for a weight [out, in] held outside a module.</summary>
    public static Tensor Linear(Tensor weight, Tensor x) =>
        KernelReads(weight, x) ? Multiply(weight, null, null, x) : nn.functional.linear(x, weight);

    /// <summary>
    /// Float32 rows with a weight the kernel reads (float32 sums out: the float32 hidden states of a written-out step meet a
    /// half-precision head), or bfloat16/float16 rows with a weight of their own dtype.
    /// </summary>
    static bool KernelReads(Tensor weight, Tensor x) =>
        KernelReads(weight) && x.device_type == DeviceType.CPU && x.numel() / x.shape[^1] <= MaxRows
        && (x.dtype == ScalarType.Float32 || x.dtype is ScalarType.BFloat16 or ScalarType.Float16 && weight.dtype == x.dtype);

    /// <summary>True when the kernel multiplies float32 rows by this weight: a contiguous CPU matrix (float32, int8, bfloat16 or float16) on an AVX2 CPU.</summary>
    public static bool KernelReads(Tensor weight) =>
        MatVecKernel.Supported && weight.device_type == DeviceType.CPU && weight.dim() == 2 && Type(weight.dtype) is not null && weight.is_contiguous();

    /// <summary>
    /// y = x W^T + b for <paramref name="rows"/> (at most <see cref="MaxRows"/>) float32 rows of the layer's input width at x,
    /// written to y: a decode step over its own preallocated buffers. The weight must satisfy <see cref="KernelReads(Tensor)"/>;
    /// <paramref name="bias"/> is the layer's bias in float32 (the step keeps a copy for a half-precision layer).
    /// </summary>
    public static unsafe void Into(Linear layer, Tensor? bias, float* x, int rows, float* y) =>
        Run(layer.weight!, Int8Weights.Scales(layer, layer.weight!), bias, x, rows, y);

    /// <summary>The tied vocabulary head x E^T into y, as <see cref="Into(Linear, Tensor?, float*, int, float*)"/>.</summary>
    public static unsafe void Into(Embedding tied, float* x, int rows, float* y) =>
        Run(tied.weight!, Int8Weights.Scales(tied, tied.weight!), null, x, rows, y);

    static WeightType? Type(ScalarType dtype) => dtype switch
    {
        ScalarType.Float32 => WeightType.Float32,
        ScalarType.Int8 => WeightType.Int8,
        ScalarType.BFloat16 => WeightType.BFloat16,
        ScalarType.Float16 => WeightType.Float16,
        _ => null,
    };

    /// <summary>A prompt (or a CPU without AVX2) on int8 weights: the float32 matrix they stand for, one at a time, through libtorch.</summary>
    static Tensor Dequantized(Tensor weight, Tensor scales, Tensor? bias, Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        return scope.MoveToOuter(nn.functional.linear(x, Int8Weights.Dequantize(weight, scales), bias));
    }

    static unsafe Tensor Multiply(Tensor weight, Tensor? scales, Tensor? bias, Tensor x)
    {
        int outFeatures = (int)weight.shape[0], inFeatures = (int)weight.shape[1];
        if (x.shape[^1] != inFeatures) return nn.functional.linear(x, weight, bias); // libtorch's own shape error
        if (x.dtype == ScalarType.Float32)
        {
            using var rows = x.contiguous();
            using var bias32 = bias is null || bias.dtype == ScalarType.Float32 ? null : bias.to(ScalarType.Float32); // a half-precision layer's, for float32 rows
            return Multiply(weight, scales, bias32 ?? bias, rows, [.. x.shape[..^1], outFeatures]);
        }
        // Half-precision rows: rounded once to nearest even from the float32 sums, the bias added where libtorch adds it
        // (measured on bfloat16 and float16): rows [N, in] go to addmm, which adds it to the float32 sums before that
        // rounding; rows [B, T, in] to matmul and then an add in the dtype, a second rounding. Prompts and decode steps
        // (both [B, T, in]) thus round alike.
        using var scope = torch.NewDisposeScope(); // the float32 copies of the rows, bias and sums go at once
        bool biasBeforeRounding = x.dim() <= 2;
        var sums = Multiply(weight, null, biasBeforeRounding ? bias?.to(ScalarType.Float32) : null, x.to(ScalarType.Float32).contiguous(), [.. x.shape[..^1], outFeatures]);
        var y = sums.to(x.dtype);
        if (!biasBeforeRounding && bias is not null) y.add_(bias);
        return scope.MoveToOuter(y);
    }

    /// <summary>The float32 sums of contiguous float32 rows into a new float32 tensor of the given shape.</summary>
    static unsafe Tensor Multiply(Tensor weight, Tensor? scales, Tensor? bias, Tensor rows, long[] shape)
    {
        int outFeatures = (int)weight.shape[0], inFeatures = (int)weight.shape[1];
        var y = torch.empty(shape, ScalarType.Float32, rows.device);
        Run(weight, scales, bias, (float*)Address(rows), (int)(rows.numel() / inFeatures), (float*)Address(y));
        return y;
    }

    /// <summary>The float32 sums of <paramref name="rows"/> float32 rows at x into y, across the team.</summary>
    static unsafe void Run(Tensor weight, Tensor? scales, Tensor? bias, float* x, int rows, float* y)
    {
        int outFeatures = (int)weight.shape[0], inFeatures = (int)weight.shape[1];
        var job = new Job
        {
            Weight = Address(weight), Type = Type(weight.dtype)!.Value, Scales = scales is null ? null : (float*)Address(scales),
            X = x, Bias = bias is null ? null : (float*)Address(bias), Y = y, Rows = rows, In = inFeatures, Out = outFeatures,
        };
        // Once per product, before the team reads them: int8's quantised blocks, or the rows arranged for the weight type.
        if (job.Type == WeightType.Int8) job.Quantized = QuantizedActivations.Of(job.X, job.Rows, inFeatures);
        else job.X = MatVecKernel.Arrange(job.Type, job.X, job.Rows, inFeatures);
        job.ChunkRows = ChunkRowsFor(outFeatures);
        CoreTeam.Shared.Run((outFeatures + job.ChunkRows - 1) / job.ChunkRows, job.Chunk);
    }

    /// <summary>The first element of a contiguous CPU tensor; libtorch's memory does not move.</summary>
    internal static unsafe void* Address(Tensor t) => Unsafe.AsPointer(ref MemoryMarshal.GetReference(t.bytes));

    unsafe sealed class Job
    {
        public void* Weight;
        public WeightType Type;
        public float* Scales, X, Bias, Y;
        public int Rows, In, Out, ChunkRows;
        public QuantizedActivations? Quantized;

        public void Chunk(int chunk)
        {
            int first = chunk * ChunkRows, end = Math.Min(Out, first + ChunkRows);
            if (Quantized is { } q) Int8DotKernel.Run((sbyte*)Weight, Scales, q.Values, q.Scales, X, Bias, Y, Rows, In, Out, first, end);
            else MatVecKernel.Run(Weight, Type, Scales, X, Bias, Y, Rows, In, Out, first, end);
        }
    }
}
