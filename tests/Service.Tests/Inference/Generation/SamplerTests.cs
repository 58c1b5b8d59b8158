using Service.Inference.Generation;
using Service.Tests.Support;
using TorchSharp;
using static TorchSharp.torch;

namespace Service.Tests.Inference.Generation;

public sealed class SamplerTests
{
    static Tensor Logits(params double[] probabilities) => torch.tensor(probabilities.Select(p => Math.Log(p)).ToArray());

    static int[] Kept(Tensor filtered) =>
        [.. filtered.data<double>().ToArray().Select((v, i) => (v, i)).Where(x => !double.IsNegativeInfinity(x.v)).Select(x => x.i)];

    [Theory]
    [InlineData(0.5, new[] { 0 })]
    [InlineData(0.75, new[] { 0, 1 })]
    [InlineData(0.8, new[] { 0, 1 })]       // 0.5 + 0.3 reaches 0.8 exactly: no third token
    [InlineData(0.81, new[] { 0, 1, 2 })]
    [InlineData(1.0, new[] { 0, 1, 2, 3 })]
    public void Top_p_keeps_the_smallest_set_whose_mass_reaches_p(double p, int[] expected)
    {
        using var scope = torch.NewDisposeScope();
        Assert.Equal(expected, Kept(Sampler.TopP(Logits(0.3, 0.5, 0.05, 0.15).index_select(0, torch.tensor(new long[] { 1, 0, 3, 2 })), p)));
    }

    [Fact]
    public void Top_p_admits_every_token_tied_with_the_last_one_whatever_their_order()
    {
        using var scope = torch.NewDisposeScope();
        Assert.Equal([0, 1, 2, 3], Kept(Sampler.TopP(Logits(0.4, 0.2, 0.2, 0.2), 0.5)));
        Assert.Equal([0, 1, 2, 3], Kept(Sampler.TopP(Logits(0.2, 0.2, 0.4, 0.2), 0.5)));
        Assert.Equal([2], Kept(Sampler.TopP(Logits(0.2, 0.2, 0.4, 0.2), 0.4)));
    }

    [Fact]
    public void Top_k_keeps_the_k_best_and_their_ties()
    {
        using var scope = torch.NewDisposeScope();
        Assert.Equal([1, 3], Kept(Sampler.TopK(Logits(0.1, 0.4, 0.1, 0.4), 1)));
        Assert.Equal([1, 2], Kept(Sampler.TopK(Logits(0.1, 0.4, 0.3, 0.2), 2)));
    }

    [Fact]
    public void Temperature_divides_the_logits()
    {
        using var scope = torch.NewDisposeScope();
        var scaled = Sampler.Temperature(torch.tensor(new[] { 2.0, -1.0, 0.5 }), 0.5).data<double>().ToArray();
        Assert.Equal([4.0, -2.0, 1.0], scaled);
    }

    [Fact]
    public void Repetition_penalty_shrinks_positive_and_grows_negative_logits_of_seen_tokens()
    {
        using var scope = torch.NewDisposeScope();
        var penalised = Sampler.RepetitionPenalty(torch.tensor(new[] { 2.0, -2.0, 1.0 }), [0, 1, 0], 2.0).data<double>().ToArray();
        Assert.Equal([1.0, -4.0, 1.0], penalised);
    }

    [Fact]
    public void Temperature_zero_is_greedy_and_ignores_the_generator()
    {
        using var scope = torch.NewDisposeScope();
        var greedy = new SamplingParameters(Temperature: 0, TopP: 0.75);
        using var g = Sampler.NewGenerator(null);
        Assert.All(Enumerable.Range(0, 20), _ => Assert.Equal(2, Sampler.Next(Logits(0.2, 0.3, 0.45, 0.05), greedy, [], g)));
    }

    [Fact]
    public void A_seed_reproduces_the_draws()
    {
        using var scope = torch.NewDisposeScope();
        var p = new SamplingParameters(Temperature: 1, TopP: 1, Seed: 42);
        var logits = Logits(Enumerable.Repeat(1.0 / 50, 50).ToArray());
        int[] Draws(long seed)
        {
            using var g = Sampler.NewGenerator(seed);
            return [.. Enumerable.Range(0, 40).Select(_ => Sampler.Next(logits, p, [], g))];
        }
        Assert.Equal(Draws(42), Draws(42));
        Assert.NotEqual(Draws(42), Draws(43));
    }

    [Theory]
    [InlineData(1.0, 1.0, new[] { 0.5, 0.3, 0.15, 0.05 })]
    [InlineData(1.0, 0.75, new[] { 0.625, 0.375, 0, 0 })]            // nucleus {0, 1}, renormalised
    [InlineData(2.0, 1.0, new[] { 0.37900, 0.29357, 0.20758, 0.11985 })] // p^(1/2), renormalised
    public void Draws_follow_the_filtered_distribution(double temperature, double topP, double[] expected)
    {
        using var scope = torch.NewDisposeScope();
        const int draws = 20_000;
        var p = new SamplingParameters(temperature, topP);
        using var g = Sampler.NewGenerator(7);
        var counts = new int[4];
        var logits = Logits(0.5, 0.3, 0.15, 0.05);
        for (int i = 0; i < draws; i++)
        {
            using var step = torch.NewDisposeScope();
            counts[Sampler.Next(logits, p, [], g)]++;
        }
        // 4.5 standard deviations of a frequency over 20,000 draws is at most 0.016.
        for (int i = 0; i < 4; i++)
            Assert.InRange(counts[i] / (double)draws, expected[i] - 0.016, expected[i] + 0.016);
    }

    [Theory]
    [InlineData(0.0, 1)]
    [InlineData(0.2499, 1)]
    [InlineData(0.25, 3)]  // cumulative 0.25 at id 1 does not exceed 0.25: the next possible id
    [InlineData(0.9999999, 3)]
    public void The_inverse_cumulative_draw_picks_the_first_id_past_the_uniform_mass_and_never_an_excluded_one(double uniform, int expected) =>
        Assert.Equal(expected, Sampler.InverseCumulative<double>([0, 0.5, 0, 1.5, 0], uniform)); // unnormalised: 0.25 and 0.75 of the mass

    [Fact]
    public void The_inverse_cumulative_draw_returns_the_last_possible_id_when_the_running_sum_never_exceeds_the_target()
    {
        // A uniform of 1 (the generator's range stops short of it) stands for a target that rounding put at the total.
        Assert.Equal(1, Sampler.InverseCumulative<double>([0.5, 0.5, 0, 0], 1.0));
    }

    [Fact]
    public void Draws_over_a_full_vocabulary_with_top_p_follow_the_nucleus_renormalised()
    {
        using var scope = torch.NewDisposeScope();
        const int draws = 2_000, vocabulary = 151_936; // each draw reads the whole vocabulary: fewer draws, wider bounds
        var row = new float[vocabulary];
        Array.Fill(row, -20f); // a long tail, cut by top-p
        int[] ids = [3, 77_000, vocabulary - 1];
        double[] weights = [0.5, 0.3, 0.2]; // the nucleus at p = 0.9, renormalised as by definition below
        for (int i = 0; i < ids.Length; i++) row[ids[i]] = (float)Math.Log(weights[i]);
        var logits = torch.tensor(row);
        using var g = Sampler.NewGenerator(11);
        var counts = new Dictionary<int, int>();
        for (int i = 0; i < draws; i++)
        {
            using var step = torch.NewDisposeScope();
            int id = Sampler.Next(logits, new SamplingParameters(1, 0.9), [], g);
            counts[id] = counts.GetValueOrDefault(id) + 1;
        }
        Assert.Equal(ids.Order(), counts.Keys.Order()); // nothing from the tail
        for (int i = 0; i < ids.Length; i++)
            Assert.InRange(counts[ids[i]] / (double)draws, weights[i] - 0.05, weights[i] + 0.05); // 4.5 standard deviations of 2,000 draws
    }

    /// <summary>The nucleus by definition: sort by probability, admit until the mass reaches p, then every tie of the last.</summary>
    static int[] NucleusByDefinition(float[] logits, double p)
    {
        double max = logits.Max();
        var weights = logits.Select(l => Math.Exp(l - max)).ToArray();
        double total = weights.Sum();
        var order = Enumerable.Range(0, logits.Length).OrderByDescending(i => logits[i]).ToArray();
        double mass = 0;
        float last = logits[order[^1]];
        foreach (int i in order)
        {
            mass += weights[i] / total;
            if (mass >= p - 1e-12) { last = logits[i]; break; }
        }
        return [.. Enumerable.Range(0, logits.Length).Where(i => logits[i] >= last)];
    }

    [Theory]
    [InlineData(1.5, 0.75, ScalarType.Float32)] // peaked (Zipf 1.5): the nucleus lies within the first 1,024 ranks
    [InlineData(1.0, 0.95, ScalarType.Float32)] // Zipf 1: most of the vocabulary, its threshold found in place
    [InlineData(0.3, 0.75, ScalarType.Float32)] // nearly flat
    [InlineData(0.3, 0.75, ScalarType.Float64)] // the sorting path, as on a GPU
    public void Top_p_over_a_real_vocabulary_keeps_the_nucleus_by_definition(double zipf, double p, ScalarType dtype)
    {
        using var scope = torch.NewDisposeScope();
        var random = new Random(5);
        var ranks = Enumerable.Range(1, 151_936).OrderBy(_ => random.Next()).ToArray();
        var row = ranks.Select(r => (float)(-zipf * Math.Log(r))).ToArray(); // probability ∝ rank^-zipf
        for (int i = 0; i < 200; i++) row[random.Next(row.Length)] = row[random.Next(row.Length)]; // ties
        var kept = Sampler.TopP(torch.tensor(row).to(dtype), p);
        Assert.Equal(dtype, kept.dtype);
        var expected = NucleusByDefinition(row, p);
        var actual = kept.to(ScalarType.Float64).data<double>().ToArray().Select((v, i) => (v, i)).Where(x => !double.IsNegativeInfinity(x.v)).Select(x => x.i).ToArray();
        // Equal up to the boundary token, which float32 and float64 probabilities may place on either side.
        Assert.InRange(actual.Length, expected.Length - 2, expected.Length + 2);
        Assert.True(actual.Intersect(expected).Count() >= Math.Min(actual.Length, expected.Length) - 2);
    }

    /// <summary>The row sampler Next uses for float32 CPU logits finds the same nucleus, on its unnormalised weights.</summary>
    [Theory]
    [InlineData(1.5, 0.75, 1.0)]
    [InlineData(1.0, 0.95, 1.0)]
    [InlineData(0.3, 0.75, 0.95)]
    public void The_cpu_row_sampler_keeps_the_nucleus_by_definition(double zipf, double p, double temperature)
    {
        var random = new Random(5);
        var ranks = Enumerable.Range(1, 151_936).OrderBy(_ => random.Next()).ToArray();
        var row = ranks.Select(r => (float)(-zipf * Math.Log(r))).ToArray();
        for (int i = 0; i < 200; i++) row[random.Next(row.Length)] = row[random.Next(row.Length)]; // ties
        var weights = CpuSampling.Weights(row, temperature).ToArray();
        float threshold = CpuSampling.NucleusThreshold(weights, (p - 1e-12) * weights.Sum(w => (double)w));
        var actual = Enumerable.Range(0, row.Length).Where(i => weights[i] >= threshold).ToArray();
        var expected = NucleusByDefinition([.. row.Select(l => (float)(l / temperature))], p);
        Assert.InRange(actual.Length, expected.Length - 2, expected.Length + 2);
        Assert.True(actual.Intersect(expected).Count() >= Math.Min(actual.Length, expected.Length) - 2);
    }

    [Fact]
    public void A_row_of_minus_infinity_is_refused_by_name()
    {
        using var scope = torch.NewDisposeScope();
        using var g = Sampler.NewGenerator(1);
        var row = torch.full(5, float.NegativeInfinity);
        Assert.Throws<ArgumentException>(() => Sampler.Next(row, new SamplingParameters(1, 0.75), [], g));
    }

    [Fact]
    public void Half_precision_logits_are_sampled_in_float32_on_their_device()
    {
        using var scope = torch.NewDisposeScope();
        var logits = Logits(0.2, 0.3, 0.45, 0.05).to(ScalarType.BFloat16);
        using var g = Sampler.NewGenerator(1, logits.device);
        Assert.Equal(2, Sampler.Next(logits, new SamplingParameters(0, 1), [], g));
        Assert.InRange(Sampler.Next(logits, new SamplingParameters(1, 0.7), [], g), 1, 2);
    }
}
