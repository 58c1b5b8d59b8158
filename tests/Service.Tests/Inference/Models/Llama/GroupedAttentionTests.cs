using Service.Inference.Models.Llama;

namespace Service.Tests.Inference.Models.Llama;

/// <summary>The written-out step's attention against softmax(q k^T / sqrt(hs)) v computed in float64, per query head.</summary>
public sealed class GroupedAttentionTests
{
    [Theory]
    [InlineData(1, 1, 8)]
    [InlineData(300, 7, 64)]   // Qwen2-0.5B's group and head size, past one value tile
    [InlineData(129, 3, 20)]   // a head size with a tail, one row past a tile
    [InlineData(2050, 4, 128)] // Llama 3's head size at a counselling turn's length
    public unsafe void Each_query_head_attends_as_the_float64_formula(int positions, int groups, int hs)
    {
        var random = new Random(positions + groups + hs);
        float[] Random(int n) => [.. Enumerable.Range(0, n).Select(_ => (float)(random.NextDouble() * 4 - 2))];
        float[] queries = Random(groups * hs), keys = Random(positions * hs), values = Random(positions * hs);
        var context = new float[groups * hs];
        fixed (float* q = queries, k = keys, v = values, c = context)
            GroupedAttention.Attend(q, k, v, positions, groups, hs, c);
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
}
