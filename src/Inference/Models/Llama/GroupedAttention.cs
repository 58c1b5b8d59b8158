using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace Service.Inference.Models.Llama;

/// <summary>
/// One decoded token's attention for the query heads that share a KV head, over that head's cached keys and
/// values, in float32 on the CPU: softmax(q k^T / sqrt(hs)) v, as transformers' repeat_kv + SDPA compute it.
/// Each cached key and value row is read once for the whole group (not once per query head), and the value
/// rows are taken in tiles that stay in L1 while every head of the group reads them. Counselling turns carry
/// up to ~2,000 cached positions, where this is a visible share of a decode step.
/// </summary>
internal static unsafe class GroupedAttention
{
    /// <summary>Value rows per tile: 128 rows of a 64- or 128-wide head are 32-64 KB.</summary>
    const int Tile = 128;

    [ThreadStatic] static float[]? _scores;

    /// <param name="queries">[groups, hs], the rotated queries of the heads sharing this KV head.</param>
    /// <param name="keys">[positions, hs], the KV head's cached keys (the new one included); values likewise.</param>
    /// <param name="context">[groups, hs], written.</param>
    public static void Attend(float* queries, float* keys, float* values, int positions, int groups, int hs, float* context)
    {
        float scale = 1f / MathF.Sqrt(hs);
        int length = groups * positions;
        var scores = _scores is { } s && s.Length >= length ? s : _scores = new float[Math.Max(length, 2 * (_scores?.Length ?? 0))];
        fixed (float* all = scores)
        {
            for (int p = 0; p < positions; p++)
            {
                float* key = keys + (long)p * hs;
                for (int g = 0; g < groups; g++) all[g * positions + p] = Dot(queries + g * hs, key, hs) * scale;
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
                    for (int p = start; p < end; p++) AddScaled(values + (long)p * hs, weights[p], output, hs);
                }
            }
            for (int g = 0; g < groups; g++)
            {
                var output = new Span<float>(context + g * hs, hs);
                TensorPrimitives.Divide(output, sums[g], output);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static float Dot(float* a, float* b, int n)
    {
        int k = 0;
        float sum = 0;
        if (Fma.IsSupported)
        {
            var acc = Vector256<float>.Zero;
            for (; k + 8 <= n; k += 8) acc = Fma.MultiplyAdd(Avx.LoadVector256(a + k), Avx.LoadVector256(b + k), acc);
            sum = Vector256.Sum(acc);
        }
        for (; k < n; k++) sum += a[k] * b[k];
        return sum;
    }

    /// <summary>output += weight * row.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void AddScaled(float* row, float weight, float* output, int n)
    {
        int k = 0;
        if (Fma.IsSupported)
        {
            var w = Vector256.Create(weight);
            for (; k + 8 <= n; k += 8) Avx.Store(output + k, Fma.MultiplyAdd(Avx.LoadVector256(row + k), w, Avx.LoadVector256(output + k)));
        }
        for (; k < n; k++) output[k] += weight * row[k];
    }
}
