using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Service.Inference.Models.Decode;

/// <summary>
/// This thread's buffer of activation rows in the order the 16-bit weight loaders read weights: each whole block of 16
/// as its 8 even elements, then its 8 odd ones, the rest of the row in order; every element times a power of two
/// (exact). Written once per product by the thread that hands the product to the team, read by the whole team.
/// </summary>
static unsafe class ArrangedActivations
{
    [ThreadStatic] static float[]? _buffer;

    public static float* Of(float* x, int rows, int n, float scale)
    {
        long count = (long)rows * n;
        if (_buffer is null || _buffer.Length < count) _buffer = GC.AllocateUninitializedArray<float>((int)count, pinned: true);
        float* arranged = (float*)Unsafe.AsPointer(ref _buffer[0]);
        for (int r = 0; r < rows; r++) Arrange(x + (long)r * n, arranged + (long)r * n, n, scale);
        return arranged;
    }

    /// <summary>One row of n: each whole block of 16 as its even elements, then its odd ones, the rest in order; times scale.</summary>
    public static void Arrange(float* from, float* to, int n, float scale)
    {
        var factor = Vector256.Create(scale);
        int k = 0;
        for (; k + 16 <= n; k += 16)
        {
            var low = Avx.LoadVector256(from + k);
            var high = Avx.LoadVector256(from + k + 8);
            // vshufps picks per 128-bit lane: [0 2 | 0 2] of (low, high) gives x0 x2 x8 x10 | x4 x6 x12 x14; vpermpd puts the 64-bit pairs in order.
            var even = Avx2.Permute4x64(Avx.Shuffle(low, high, 0b10_00_10_00).AsDouble(), 0b11_01_10_00).AsSingle();
            var odd = Avx2.Permute4x64(Avx.Shuffle(low, high, 0b11_01_11_01).AsDouble(), 0b11_01_10_00).AsSingle();
            Avx.Store(to + k, Avx.Multiply(even, factor));
            Avx.Store(to + k + 8, Avx.Multiply(odd, factor));
        }
        for (; k < n; k++) to[k] = from[k] * scale;
    }

    /// <summary>The inverse of <see cref="Arrange"/> at scale 1: a row of n back in order (in place is fine).</summary>
    public static void Restore(float* from, float* to, int n)
    {
        int k = 0;
        for (; k + 16 <= n; k += 16)
        {
            var even = Avx.LoadVector256(from + k);
            var odd = Avx.LoadVector256(from + k + 8);
            // vunpcklps/vunpckhps interleave per 128-bit lane: x0 x1 x2 x3 | x8 x9 x10 x11 and x4..x7 | x12..x15; vperm2f128 joins the halves.
            var low = Avx.UnpackLow(even, odd);
            var high = Avx.UnpackHigh(even, odd);
            Avx.Store(to + k, Avx.Permute2x128(low, high, 0x20));
            Avx.Store(to + k + 8, Avx.Permute2x128(low, high, 0x31));
        }
        if (from != to) for (; k < n; k++) to[k] = from[k];
    }
}
