using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace Service.Inference.Generation;

/// <summary>
/// <see cref="Sampler.Next"/> for a float32 logits row on the CPU with temperature and top-p (SoulChat's 0.95 / 0.75),
/// in a few vectorised passes over the row: weights w_i = exp(x_i / T - max), the nucleus threshold on them, one draw
/// by the inverse of the cumulative distribution. The tensor path (division, softmax, top-1,024 ranking, masking, a
/// second softmax) took 5-10 ms a token over Qwen2's 151,936 logits, most of a step's cost outside the forward pass,
/// and eight times that for eight streams. Same distribution: the nucleus is the smallest set of most probable tokens
/// whose mass reaches p, with every tie of the last admitted; ids are drawn with probability w_i / sum over the nucleus.
/// </summary>
internal static class CpuSampling
{
    [ThreadStatic] static float[]? _weights;
    [ThreadStatic] static double[]? _buckets;

    /// <summary>The id drawn from one uniform number in [0, 1), or -1 when no token has a positive probability.</summary>
    public static int TemperatureTopP(ReadOnlySpan<float> logits, double temperature, double topP, double uniform)
    {
        var weights = Weights(logits, temperature);
        if (weights.IsEmpty) return -1;
        float threshold = topP < 1.0 ? NucleusThreshold(weights, (topP - 1e-12) * SumAtLeast(weights, 0)) : float.Epsilon;
        double target = uniform * SumAtLeast(weights, threshold), cumulative = 0;
        int last = -1;
        for (int i = 0; i < weights.Length; i++)
        {
            float w = weights[i];
            if (w < threshold) continue;
            cumulative += w;
            last = i;
            if (cumulative > target) return i;
        }
        return last; // rounding left the running sum at the target: the last id of the nucleus
    }

    /// <summary>exp(x / T - max) into a reused buffer: the largest is 1; empty when every logit is -inf (or NaN).</summary>
    internal static Span<float> Weights(ReadOnlySpan<float> logits, double temperature)
    {
        var weights = (_weights is { } w && w.Length >= logits.Length ? w : _weights = new float[logits.Length]).AsSpan(0, logits.Length);
        TensorPrimitives.Divide(logits, (float)temperature, weights); // float32, as the tensor path divides
        float max = TensorPrimitives.Max(weights);
        if (!float.IsFinite(max)) return [];
        TensorPrimitives.Subtract(weights, max, weights);
        TensorPrimitives.Exp(weights, weights);
        return weights;
    }

    /// <summary>The sum in float64 of the values at or above the threshold, eight at a time.</summary>
    static double SumAtLeast(ReadOnlySpan<float> values, float threshold)
    {
        var (low, high, bound) = (Vector256<double>.Zero, Vector256<double>.Zero, Vector256.Create(threshold));
        ref float first = ref MemoryMarshal.GetReference(values);
        int i = 0;
        for (; i + 8 <= values.Length; i += 8)
        {
            var v = Vector256.LoadUnsafe(ref first, (nuint)i);
            var (a, b) = Vector256.Widen(Vector256.ConditionalSelect(Vector256.GreaterThanOrEqual(v, bound), v, Vector256<float>.Zero));
            (low, high) = (low + a, high + b);
        }
        double sum = Vector256.Sum(low + high);
        for (; i < values.Length; i++) if (values[i] >= threshold) sum += values[i];
        return sum;
    }

    /// <summary>
    /// The largest value t among non-negative <paramref name="values"/> such that the values >= t sum to at least
    /// <paramref name="mass"/> (the nucleus threshold, ties included). Values are bucketed by the top 16 bits of their
    /// float32 pattern, which order as the values do, so two passes find t exactly without sorting the row.
    /// </summary>
    internal static float NucleusThreshold(ReadOnlySpan<float> values, double mass)
    {
        const int shift = 16;
        var buckets = _buckets ??= new double[1 << (32 - shift)];
        Array.Clear(buckets);
        foreach (float v in values) buckets[BitConverter.SingleToInt32Bits(v) >>> shift] += v;
        double above = 0;
        int bucket = buckets.Length - 1;
        for (; bucket > 0 && above + buckets[bucket] < mass; bucket--) above += buckets[bucket];
        var inBucket = new List<float>();
        foreach (float v in values) if (BitConverter.SingleToInt32Bits(v) >>> shift == bucket) inBucket.Add(v);
        inBucket.Sort(); // ascending; read from the largest
        for (int i = inBucket.Count - 1; i >= 0; i--)
        {
            above += inBucket[i];
            if (above >= mass) return inBucket[i];
        }
        return inBucket.Count > 0 ? inBucket[0] : 0; // rounding: the mass never quite reached the target
    }
}
