using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Service.Inference.Models.Decode;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace Service.Inference.Models.Llama;

/// <summary>
/// One decoded token's attention for the query heads that share a KV head, over that head's cached keys and
/// values, in float32 on the CPU: softmax(q k^T / sqrt(hs)) v, as transformers' repeat_kv + SDPA compute it.
/// Each cached key and value row is read once for the whole group (not once per query head), and the value
/// rows are taken in tiles that stay in L1 while every head of the group reads them. Counselling turns carry
/// up to ~2,000 cached positions, where this is a visible share of a decode step. A bfloat16 or float16 cache is
/// widened as the decode kernel widens weights (<see cref="IWeightLoader{T}"/>): the queries are arranged as the
/// kernel arranges activations, and the context is summed in that order and put back in order at the end.
/// </summary>
internal static unsafe class GroupedAttention
{
    /// <summary>Value rows per tile: 128 rows of a 64- or 128-wide head are 32-64 KB.</summary>
    const int Tile = 128;

    [ThreadStatic] static float[]? _scores;

    /// <param name="queries">[groups, hs], the rotated queries of the heads sharing this KV head.</param>
    /// <param name="keys">[positions, hs], the KV head's cached keys (the new one included); values likewise.</param>
    /// <param name="context">[groups, hs], written.</param>
    public static void Attend<TLoad, T>(float* queries, T* keys, T* values, int positions, int groups, int hs, float* context)
        where TLoad : struct, IWeightLoader<T> where T : unmanaged
    {
        float scale = 1f / MathF.Sqrt(hs) * MatVecKernel.SumScale<TLoad, T>(), valueScale = 1f / TLoad.WeightScale;
        int length = groups * positions;
        var scores = _scores is { } s && s.Length >= length ? s : _scores = new float[Math.Max(length, 2 * (_scores?.Length ?? 0))];
        float* arranged = stackalloc float[TLoad.Interleaved ? groups * hs : 0];
        if (TLoad.Interleaved)
            for (int g = 0; g < groups; g++) ArrangedActivations.Arrange(queries + g * hs, arranged + g * hs, hs, TLoad.ActivationScale);
        else arranged = queries;
        fixed (float* all = scores)
        {
            for (int p = 0; p < positions; p++)
            {
                T* key = keys + (long)p * hs;
                for (int g = 0; g < groups; g++) all[g * positions + p] = Dot<TLoad, T>(arranged + g * hs, key, hs) * scale;
            }
            var sums = stackalloc float[groups];
            for (int g = 0; g < groups; g++)
            {
                var row = new Span<float>(all + g * positions, positions);
                TensorPrimitives.Subtract(row, TensorPrimitives.Max(row), row);
                TensorPrimitives.Exp(row, row);
                sums[g] = TensorPrimitives.Sum(row);
                new Span<float>(context + g * hs, hs).Clear();
            }
            for (int start = 0; start < positions; start += Tile)
            {
                int end = Math.Min(positions, start + Tile);
                for (int g = 0; g < groups; g++)
                {
                    float* weights = all + g * positions, output = context + g * hs;
                    for (int p = start; p < end; p++) AddScaled<TLoad, T>(values + (long)p * hs, weights[p] * valueScale, output, hs);
                }
            }
            for (int g = 0; g < groups; g++)
            {
                if (TLoad.Interleaved) ArrangedActivations.Restore(context + g * hs, context + g * hs, hs);
                var output = new Span<float>(context + g * hs, hs);
                TensorPrimitives.Divide(output, sums[g], output);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static float Dot<TLoad, T>(float* a, T* b, int n) where TLoad : struct, IWeightLoader<T> where T : unmanaged
    {
        int k = 0;
        var acc = Vector256<float>.Zero;
        for (; k + 16 <= n; k += 16)
        {
            var (first, second) = TLoad.Load16(b + k);
            acc = Fma.MultiplyAdd(second, Avx.LoadVector256(a + k + 8), Fma.MultiplyAdd(first, Avx.LoadVector256(a + k), acc));
        }
        float sum = Vector256.Sum(acc);
        for (; k < n; k++) sum += a[k] * TLoad.Load1(b + k);
        return sum;
    }

    /// <summary>output += weight * row, in the row's arranged order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void AddScaled<TLoad, T>(T* row, float weight, float* output, int n) where TLoad : struct, IWeightLoader<T> where T : unmanaged
    {
        int k = 0;
        var w = Vector256.Create(weight);
        for (; k + 16 <= n; k += 16)
        {
            var (first, second) = TLoad.Load16(row + k);
            Avx.Store(output + k, Fma.MultiplyAdd(first, w, Avx.LoadVector256(output + k)));
            Avx.Store(output + k + 8, Fma.MultiplyAdd(second, w, Avx.LoadVector256(output + k + 8)));
        }
        for (; k < n; k++) output[k] += weight * TLoad.Load1(row + k);
    }
}
