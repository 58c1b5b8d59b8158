using Service.Inference.Models.Decode;
using Service.Inference.Models.Llama;

namespace Service.Tests.Inference.Models.Llama;

/// <summary>
/// The written-out step's attention against softmax(q k^T / sqrt(hs)) v computed in float64, per query head, over a float32,
/// bfloat16 or float16 cache (the reference reads the same half-precision values, widened).
/// </summary>
public sealed class GroupedAttentionTests
{
    public static TheoryData<string, int, int, int> Cases()
    {
        var data = new TheoryData<string, int, int, int>();
        foreach (var dtype in new[] { "float32", "bfloat16", "float16" })
        {
            data.Add(dtype, 1, 1, 8);
            data.Add(dtype, 300, 7, 64);   // Qwen2-0.5B's group and head size, past one value tile
            data.Add(dtype, 129, 3, 20);   // a head size with a tail, one row past a tile
            data.Add(dtype, 2050, 4, 128); // Llama 3's head size at a counselling turn's length
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public unsafe void Each_query_head_attends_as_the_float64_formula(string dtype, int positions, int groups, int hs)
    {
        var random = new Random(positions + groups + hs);
        float[] Random(int n) => [.. Enumerable.Range(0, n).Select(_ => (float)(random.NextDouble() * 4 - 2))];
        float[] queries = Random(groups * hs), keys = Random(positions * hs), values = Random(positions * hs);
        var context = new float[groups * hs];
        fixed (float* q = queries, c = context)
        {
            if (dtype == "float32")
                fixed (float* k = keys, v = values) GroupedAttention.Attend<Float32Loader, float>(q, k, v, positions, groups, hs, c);
            else
            {
                bool bf16 = dtype == "bfloat16";
                ushort[] halfKeys = Halves(keys, bf16), halfValues = Halves(values, bf16);
                fixed (ushort* k = halfKeys, v = halfValues)
                    if (bf16) GroupedAttention.Attend<BFloat16Loader, ushort>(q, k, v, positions, groups, hs, c);
                    else GroupedAttention.Attend<Float16Loader, ushort>(q, k, v, positions, groups, hs, c);
            }
        }
        for (int g = 0; g < groups; g++)
        {
            var scores = Enumerable.Range(0, positions)
                .Select(p => Enumerable.Range(0, hs).Sum(d => (double)queries[g * hs + d] * keys[p * hs + d]) / Math.Sqrt(hs)).ToArray();
            double max = scores.Max();
            var weights = scores.Select(s => Math.Exp(s - max)).ToArray();
            double total = weights.Sum();
            for (int d = 0; d < hs; d++)
            {
                double expected = Enumerable.Range(0, positions).Sum(p => weights[p] * values[p * hs + d]) / total;
                Assert.InRange(context[g * hs + d], expected - 2e-5, expected + 2e-5);
            }
        }
    }

    /// <summary>The values rounded to the half-precision type (in place, so the reference reads them) and their bits.</summary>
    static ushort[] Halves(float[] values, bool bf16)
    {
        var bits = new ushort[values.Length];
        for (int i = 0; i < values.Length; i++)
        {
            if (bf16)
            {
                uint word = BitConverter.SingleToUInt32Bits(values[i]);
                bits[i] = (ushort)((word + 0x7FFF + ((word >> 16) & 1)) >> 16);
                values[i] = BitConverter.Int32BitsToSingle(bits[i] << 16);
            }
            else
            {
                var half = (Half)values[i];
                bits[i] = BitConverter.HalfToUInt16Bits(half);
                values[i] = (float)half;
            }
        }
        return bits;
    }
}
