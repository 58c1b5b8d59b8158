using TorchSharp;
using static TorchSharp.torch;

namespace Service.Inference.Generation;

/// <summary>How to pick each next token. Temperature 0 means greedy; a seed makes the draws repeatable.</summary>
public sealed record SamplingParameters(double Temperature, double TopP, int? TopK = null, double RepetitionPenalty = 1.0, long? Seed = null)
{
    public bool IsGreedy => Temperature == 0;
}

/// <summary>
/// Small pure functions over a logits row [V], applied in transformers' order: repetition penalty,
/// temperature, top-k, top-p, then a draw. They run where the logits are (float32, or float64 when
/// given it; half precision is widened first), so on a GPU only the sampled id comes back. Filters
/// return new logits with the excluded tokens at -inf; nothing here knows about models.
/// </summary>
public static class Sampler
{
    /// <summary>Picks the next token id from one logits row.</summary>
    public static int Next(Tensor logits, SamplingParameters p, IEnumerable<int> previous, Generator generator)
    {
        using var scope = torch.NewDisposeScope();
        if (p.IsGreedy || p.TopK is not null || logits.device_type != DeviceType.CPU || logits.dtype != ScalarType.Float32 || logits.dim() != 1)
            return Pick(Distribution(logits, p, previous), p, generator);
        var penalised = p.RepetitionPenalty != 1.0 ? RepetitionPenalty(logits, previous, p.RepetitionPenalty) : logits;
        using var dense = penalised.contiguous();
        double uniform = torch.rand(1, ScalarType.Float64, generator: generator).item<double>(); // one number per draw, as Draw takes
        int id = CpuSampling.TemperatureTopP(System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(dense.bytes), p.Temperature, p.TopP, uniform);
        return id >= 0 ? id : throw new ArgumentException("No token has a positive probability.", nameof(logits));
    }

    /// <summary>
    /// The logits of the distribution a token is drawn from, before any truncation: repetition penalty, then
    /// temperature (greedy: the penalised logits). Log-probabilities are reported from these, as OpenAI does.
    /// </summary>
    public static Tensor Distribution(Tensor logits, SamplingParameters p, IEnumerable<int> previous)
    {
        var x = logits.dtype is ScalarType.Float32 or ScalarType.Float64 ? logits : logits.to(ScalarType.Float32);
        if (p.RepetitionPenalty != 1.0) x = RepetitionPenalty(x, previous, p.RepetitionPenalty);
        return p.IsGreedy ? x : Temperature(x, p.Temperature);
    }

    /// <summary>The token from <see cref="Distribution"/>'s logits: greedy, or top-k and top-p truncation then a draw.</summary>
    public static int Pick(Tensor distribution, SamplingParameters p, Generator generator)
    {
        if (p.IsGreedy) return Greedy(distribution);
        var x = distribution;
        if (p.TopK is int k) x = TopK(x, k);
        if (p.TopP < 1.0) x = TopP(x, p.TopP);
        return Draw(x, generator);
    }

    /// <summary>The highest logit; among equal logits, the lowest id.</summary>
    public static int Greedy(Tensor logits) => (int)logits.argmax().item<long>();

    public static Tensor Temperature(Tensor logits, double temperature) => logits / temperature;

    /// <summary>
    /// CTRL's penalty as transformers applies it to every token seen so far (prompt included):
    /// positive logits divided, negative ones multiplied.
    /// </summary>
    public static Tensor RepetitionPenalty(Tensor logits, IEnumerable<int> previous, double penalty)
    {
        var seenIds = previous.Distinct().Select(i => (long)i).ToArray();
        if (seenIds.Length == 0) return logits;
        var ids = torch.tensor(seenIds, device: logits.device);
        var seen = logits.index_select(0, ids);
        return logits.clone().index_copy_(0, ids, torch.where(seen < 0, seen * penalty, seen / penalty));
    }

    /// <summary>Keeps the k highest logits, and every logit tied with the k-th.</summary>
    public static Tensor TopK(Tensor logits, int k)
    {
        if (k <= 0 || k >= logits.shape[0]) return logits;
        var kth = logits.topk(k).values[-1];
        return logits.masked_fill(logits < kth, double.NegativeInfinity);
    }

    /// <summary>
    /// Nucleus: the smallest set of most probable tokens whose probability mass reaches p. Tokens tied
    /// with the last one admitted are admitted too, so the set never depends on how a sort orders ties.
    /// A trained model's nucleus is usually a few hundred tokens, so the best 1,024 are ranked first
    /// (a partial selection, not a sort of the whole vocabulary); a flatter distribution has its
    /// threshold found by <see cref="WideNucleusThreshold(Tensor, double)"/>, without a sort on the CPU.
    /// </summary>
    public static Tensor TopP(Tensor logits, double p)
    {
        var probs = logits.softmax(-1);
        int k = (int)Math.Min(probs.shape[0], 1024);
        var ranked = probs.topk(k).values; // descending
        // Ranks before the mass reaches p; summed in float64, since a float32 running sum over
        // 10^5 small probabilities drifts by more than the smallest of them.
        long before = (ranked.to(ScalarType.Float64).cumsum(0) < p - 1e-12).sum().item<long>();
        double threshold = before < k ? ranked[before].to(ScalarType.Float64).item<double>()
            : k == probs.shape[0] ? ranked[k - 1].to(ScalarType.Float64).item<double>() // rounding: the mass never quite reached p
            : WideNucleusThreshold(probs, p);
        return logits.masked_fill(probs < threshold, double.NegativeInfinity);
    }

    /// <summary>
    /// The smallest admitted probability of a nucleus wider than the first ranks: the largest value t
    /// whose mass(probs >= t) reaches p, itself one of the probabilities. On the CPU the probabilities
    /// are read in place and bucketed by the top 16 bits of their float32 pattern (ordered as the
    /// values are), so two passes find t exactly; elsewhere (a GPU sorts fast) they are sorted.
    /// </summary>
    static double WideNucleusThreshold(Tensor probs, double p)
    {
        if (probs.device.type != DeviceType.CPU || probs.dtype != ScalarType.Float32 || !probs.is_contiguous())
        {
            var sorted = probs.sort(descending: true).Values;
            long before = (sorted.to(ScalarType.Float64).cumsum(0) < p - 1e-12).sum().item<long>();
            return sorted[Math.Min(before, sorted.shape[0] - 1)].to(ScalarType.Float64).item<double>();
        }
        return WideNucleusThreshold(System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(probs.bytes), p); // in place, no copy
    }

    static double WideNucleusThreshold(ReadOnlySpan<float> probs, double p) => CpuSampling.NucleusThreshold(probs, p - 1e-12);

    /// <summary>
    /// Draws one id from softmax(logits) with the request's own generator. On the CPU by the inverse
    /// of the cumulative distribution, from one uniform number: libtorch's multinomial draws an
    /// exponential variate for every token of the vocabulary (measured here 10-13 ms a draw over
    /// 151,936 tokens, most of a sampled step's cost), this reads the probabilities twice (under a
    /// millisecond). Same distribution; elsewhere (a GPU draws in parallel) multinomial stays.
    /// </summary>
    public static int Draw(Tensor logits, Generator generator)
    {
        var probabilities = logits.softmax(-1);
        if (probabilities.device_type != DeviceType.CPU)
            return (int)probabilities.multinomial(1, generator: generator).item<long>();
        double uniform = torch.rand(1, ScalarType.Float64, generator: generator).item<double>(); // [0, 1)
        using var dense = probabilities.contiguous(); // read in place, summed in float64
        return dense.dtype == ScalarType.Float64
            ? InverseCumulative(System.Runtime.InteropServices.MemoryMarshal.Cast<byte, double>(dense.bytes), uniform)
            : InverseCumulative(System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(dense.bytes), uniform);
    }

    /// <summary>
    /// The first id whose cumulative probability exceeds uniform x total: id i with probability
    /// p_i / total. An excluded token (probability 0) is never returned, even when rounding leaves
    /// the running sum short of the total (then the last possible id is).
    /// </summary>
    internal static int InverseCumulative<T>(ReadOnlySpan<T> probabilities, double uniform) where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        double total = 0;
        foreach (var p in probabilities) total += double.CreateTruncating(p);
        double target = uniform * total, cumulative = 0;
        int last = -1;
        for (int i = 0; i < probabilities.Length; i++)
        {
            double p = double.CreateTruncating(probabilities[i]);
            if (p <= 0) continue;
            cumulative += p;
            last = i;
            if (cumulative > target) return i;
        }
        return last >= 0 ? last : throw new ArgumentException("No token has a positive probability.", nameof(probabilities));
    }

    /// <summary>A generator for one request on the logits' device: seeded when the request asks, otherwise from a random seed.</summary>
    public static Generator NewGenerator(long? seed, Device? device = null) =>
        new((ulong)(seed ?? Random.Shared.NextInt64()), device ?? torch.CPU);
}
