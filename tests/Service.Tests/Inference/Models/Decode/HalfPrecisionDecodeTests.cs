using Service.Inference.Checkpoints;
using Service.Inference.Models;
using Service.Inference.Models.Decode;
using Service.Inference.Models.Llama;
using Service.Tests.Support;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Service.Tests.Inference.Models.Decode;

/// <summary>
/// bfloat16 and float16 decode steps through the kernel: the float16 widening against .NET's (float)Half over every
/// finite bit pattern; products of 1 to 8 rows on odd shapes against float64 sums of the same (widened) weights
/// and rows, within float32 accumulation plus one rounding to the output dtype; greedy generation of the tiny
/// Llama and Qwen2 checkpoints in both dtypes against the float64 PyTorch reference of tests/fixtures/chat.
/// </summary>
public sealed class HalfPrecisionDecodeTests(ITestOutputHelper output)
{
    [Fact]
    public unsafe void Float16_widening_is_exact_for_every_finite_bit_pattern()
    {
        var bits = new ushort[65536]; // every pattern, read 16 at a time
        for (int i = 0; i < 65536; i++) bits[i] = (ushort)i;
        float unscale = 1f / Float16Loader.WeightScale; // 2^112: the loader's values are the half's times 2^-112, exactly
        int finite = 0;
        fixed (ushort* p = bits)
            for (int i = 0; i < 65536; i += 16)
            {
                var (even, odd) = Float16Loader.Load16(p + i);
                for (int lane = 0; lane < 16; lane++)
                {
                    var half = BitConverter.UInt16BitsToHalf((ushort)(i + lane));
                    if (!Half.IsFinite(half)) continue;
                    finite++;
                    float wide = lane % 2 == 0 ? even[lane / 2] : odd[lane / 2];
                    // Bit equality: also tells +0 from -0 and checks every subnormal.
                    Assert.Equal(BitConverter.SingleToInt32Bits((float)half), BitConverter.SingleToInt32Bits(wide * unscale));
                    Assert.Equal(BitConverter.SingleToInt32Bits((float)half), BitConverter.SingleToInt32Bits(Float16Loader.Load1(p + i + lane) * unscale));
                }
            }
        Assert.Equal(65536 - 2 * 1024, finite); // exponent 31 (infinities and NaNs) is the only non-finite one
    }

    [Fact]
    public unsafe void Bfloat16_widening_is_the_top_half_of_a_float32()
    {
        var bits = new ushort[65536];
        for (int i = 0; i < 65536; i++) bits[i] = (ushort)i;
        fixed (ushort* p = bits)
            for (int i = 0; i < 65536; i += 16)
            {
                var (even, odd) = BFloat16Loader.Load16(p + i);
                for (int lane = 0; lane < 16; lane++)
                {
                    Assert.Equal((i + lane) << 16, BitConverter.SingleToInt32Bits(lane % 2 == 0 ? even[lane / 2] : odd[lane / 2]));
                    Assert.Equal((i + lane) << 16, BitConverter.SingleToInt32Bits(BFloat16Loader.Load1(p + i + lane)));
                }
            }
    }

    public static TheoryData<ScalarType, int, int, int, bool> Shapes()
    {
        var data = new TheoryData<ScalarType, int, int, int, bool>();
        foreach (var dtype in new[] { ScalarType.BFloat16, ScalarType.Float16 })
            foreach (var (inFeatures, outFeatures) in new[] { (1, 1), (7, 5), (13, 3), (37, 29), (100, 257), (896, 131), (9, 1001) })
                foreach (int rows in new[] { 1, 2, 3, 5, 8 })
                    data.Add(dtype, inFeatures, outFeatures, rows, rows % 2 == 1);
        return data;
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Product_is_the_float64_sum_rounded_once(ScalarType dtype, int inFeatures, int outFeatures, int rows, bool bias)
    {
        using var scope = torch.NewDisposeScope();
        using var mode = torch.inference_mode();
        var generator = torch.manual_seed(inFeatures * 1000 + outFeatures * 10 + rows);
        var layer = nn.Linear(inFeatures, outFeatures, hasBias: bias, dtype: dtype);
        var x = torch.randn([rows, 1, inFeatures], generator: generator).to(dtype);

        var y = DecodeProjection.Linear(layer, x);

        Assert.Equal(new long[] { rows, 1, outFeatures }, y.shape);
        Assert.Equal(dtype, y.dtype);
        var w = layer.weight!.to(ScalarType.Float64);
        var b = layer.bias?.to(ScalarType.Float64);
        var products = nn.functional.linear(x.to(ScalarType.Float64), w);
        var reference = b is null ? products : products + b;
        // float32 accumulation: a few float32 units of the sum of |w x| (as DecodeProjectionTests); then half a unit of
        // the dtype at the sum's magnitude (its subnormal step near zero) for rounding the sum, and as much again for
        // adding the bias in the dtype (rows [B, T, in], as libtorch does).
        var accumulation = (nn.functional.linear(x.abs().to(ScalarType.Float64), w.abs()) + 1e-30) * 1e-6;
        var rounding = HalfUnit(products.abs() + accumulation, dtype);
        if (b is not null) rounding += HalfUnit(reference.abs() + accumulation + rounding, dtype);
        var excess = (y.to(ScalarType.Float64) - reference).abs() - accumulation - rounding;
        Assert.True(excess.max().item<double>() <= 0, $"beyond float32 accumulation and {dtype} rounding by {excess.max().item<double>():E2}");
    }

    /// <summary>
    /// libtorch adds a half-precision bias to the float32 sums before rounding for rows [N, in] (addmm) and after it,
    /// in the dtype, for rows [B, T, in] (matmul, then add): with a bias as large as the products one rule or the other
    /// changes ~12 % of the outputs; the kernel follows libtorch's rule for each, up to float32 summation order.
    /// </summary>
    [Theory]
    [InlineData(ScalarType.BFloat16, 2)]
    [InlineData(ScalarType.BFloat16, 3)]
    [InlineData(ScalarType.Float16, 2)]
    [InlineData(ScalarType.Float16, 3)]
    public void The_bias_is_rounded_as_libtorch_rounds_it(ScalarType dtype, int rank)
    {
        using var scope = torch.NewDisposeScope();
        using var mode = torch.inference_mode();
        var layer = nn.Linear(896, 4864, hasBias: true, dtype: dtype);
        using (torch.no_grad()) layer.bias!.copy_(torch.randn(4864, generator: torch.manual_seed(2)).mul(4));
        var x = torch.randn(3, 896, generator: torch.manual_seed(1)).to(dtype);
        if (rank == 3) x = x.unsqueeze(1); // three decode streams [3, 1, 896]

        var differing = DecodeProjection.Linear(layer, x).ne(layer.forward(x)).to(ScalarType.Float64).mean().item<double>();

        output.WriteLine($"{dtype}, rank {rank}: {differing:P2} of the outputs differ from libtorch's");
        Assert.True(differing < 0.005, $"{differing:P2} of the outputs differ from libtorch's");
    }

    /// <summary>Half a unit in the last place of the dtype at these magnitudes.</summary>
    static Tensor HalfUnit(Tensor magnitude, ScalarType dtype)
    {
        var (mantissaBits, smallestExponent) = dtype == ScalarType.BFloat16 ? (7, -126) : (10, -14);
        var exponent = magnitude.log2().floor().clamp_min(smallestExponent);
        return torch.pow(2.0, exponent - mantissaBits - 1);
    }

    [Theory]
    [InlineData(ScalarType.BFloat16)]
    [InlineData(ScalarType.Float16)]
    public void A_prompt_goes_to_libtorch_unchanged(ScalarType dtype)
    {
        using var scope = torch.NewDisposeScope();
        using var mode = torch.inference_mode();
        var layer = nn.Linear(24, 40, dtype: dtype);
        var prompt = torch.randn(1, DecodeProjection.MaxRows + 1, 24, generator: torch.manual_seed(5)).to(dtype);
        Assert.True(DecodeProjection.Linear(layer, prompt).equal(HalfPrecisionPrompts.Linear(layer, prompt)).all().item<bool>());
    }

    /// <summary>
    /// The serving path in half precision: prompt through libtorch, every generated token through the kernel, against the
    /// float64 reference's greedy tokens (the fixtures' smallest greedy margins are far above bfloat16's error).
    /// </summary>
    [Theory]
    [InlineData(ChatFixtures.Llama, ScalarType.BFloat16)]
    [InlineData(ChatFixtures.Llama, ScalarType.Float16)]
    [InlineData(ChatFixtures.Qwen2, ScalarType.BFloat16)]
    [InlineData(ChatFixtures.Qwen2, ScalarType.Float16)]
    public void Greedy_decoding_in_half_precision_reproduces_the_float64_reference(string name, ScalarType dtype)
    {
        Assert.True(MatVecKernel.Supported, "the decode kernel needs AVX2 and FMA");
        using var model = CausalLanguageModelLoader.Load(CheckpointDirectory.Open(ChatFixtures.Dir(name)), torch.CPU, dtype);
        foreach (var expected in ChatFixtures.Expected(name).Cases)
        {
            using var scope = torch.NewDisposeScope();
            using var mode = torch.inference_mode();
            using var cache = model.NewCache(expected.InputIds.Length + expected.Greedy.Length);
            var generated = new List<int>();
            var next = torch.tensor(expected.InputIds.Select(i => (long)i).ToArray()).unsqueeze(0);
            while (generated.Count < expected.Greedy.Length)
            {
                var logits = model.Logits(model.Forward(next, cache)[0, -1]);
                Assert.Equal(ScalarType.Float32, logits.dtype); // a half-precision model computes in float32 on the CPU
                generated.Add((int)logits.argmax().item<long>());
                next = torch.tensor(new long[] { generated[^1] }).unsqueeze(0);
            }
            output.WriteLine($"{name} in {dtype}, prompt of {expected.InputIds.Length}: {string.Join(' ', generated)}");
            Assert.Equal(expected.Greedy, generated);
        }
    }

    /// <summary>
    /// A half-precision model on the CPU computes in float32 over its weights in their dtype, with its KV cache in the dtype:
    /// fed the fixture prompts one written-out decode step at a time, its logits stay within 1.5 units of the dtype's
    /// rounding (2^-8, 2^-11) of the largest logit from exact arithmetic over the same weights (the checkpoint loaded in
    /// float64 with every parameter rounded through the dtype; measured 0.5-0.7 units, from the cache's rounding), and a
    /// prompt read in one forward (libtorch's products, widened) gives the decode steps' logits up to float32 rounding, so
    /// positions cached by decode steps and positions recomputed from the text agree (the prefix cache relies on it).
    /// </summary>
    [Theory]
    [InlineData(ChatFixtures.Llama, ScalarType.BFloat16)]
    [InlineData(ChatFixtures.Llama, ScalarType.Float16)]
    [InlineData(ChatFixtures.Qwen2, ScalarType.BFloat16)]
    [InlineData(ChatFixtures.Qwen2, ScalarType.Float16)]
    public void A_half_precision_model_decodes_and_reads_prompts_in_float32_arithmetic(string name, ScalarType dtype)
    {
        using var mode = torch.inference_mode();
        using var half = (LlamaForCausalLM)CausalLanguageModelLoader.Load(CheckpointDirectory.Open(ChatFixtures.Dir(name)), torch.CPU, dtype);
        using var exact = (LlamaForCausalLM)CausalLanguageModelLoader.Load(CheckpointDirectory.Open(ChatFixtures.Dir(name)), torch.CPU, ScalarType.Float64);
        foreach (var (_, parameter) in exact.named_parameters()) parameter.copy_(parameter.to(dtype).to(ScalarType.Float64));
        double largest = 0, fromExact = 0, promptToSteps = 0;
        int longest = 0;
        foreach (var c in ChatFixtures.Expected(name).Cases) // each prompt alone, at its full length
        {
            var reference = DecodeLogits(exact, [c]);
            var steps = DecodeLogits(half, [c]);
            Assert.True(half.DecodesWrittenOut, $"a {dtype} CPU model decodes through the written-out step");
            using var cache = half.NewCache(c.InputIds.Length);
            var prompt = half.Logits(half.Forward(torch.tensor(c.InputIds.Select(i => (long)i).ToArray()).unsqueeze(0), cache))[0].to(ScalarType.Float64); // [T, V]
            largest = Math.Max(largest, reference.abs().max().item<double>());
            fromExact = Math.Max(fromExact, steps.sub(reference).abs().max().item<double>());
            promptToSteps = Math.Max(promptToSteps, prompt.sub(steps.select(1, 0)).abs().max().item<double>());
            longest = Math.Max(longest, c.InputIds.Length);
        }
        output.WriteLine($"{name} in {dtype}, prompts up to {longest} tokens: decode steps off exact arithmetic by {fromExact:E2}, prompts read at once off the steps by {promptToSteps:E2} (logits up to {largest:F2})");
        Assert.True(longest > DecodeProjection.MaxRows, "a prompt long enough for libtorch's (widened) products");
        double bound = 1.5 * (dtype == ScalarType.BFloat16 ? Math.Pow(2, -8) : Math.Pow(2, -11)) * largest;
        Assert.True(fromExact < bound, $"decode steps off by {fromExact:E2}, more than {bound:E2}");
        Assert.True(promptToSteps < 1e-4 * largest, $"the prompt read at once differs from the decode steps by {promptToSteps:E2}");
    }

    /// <summary>Every fixture prompt fed one token per decode step (the cases batched), the logits of every step [T, B, V] in float64.</summary>
    static Tensor DecodeLogits(LlamaForCausalLM model, IReadOnlyList<DecoderCase> cases)
    {
        int length = cases.Min(c => c.InputIds.Length);
        var caches = cases.Select(c => model.NewCache(length)).ToList();
        var steps = new List<Tensor>();
        for (int t = 0; t < length; t++)
        {
            var ids = torch.tensor(cases.Select(c => (long)c.InputIds[t]).ToArray(), [cases.Count, 1]);
            steps.Add(model.Logits(model.DecodeBatch(ids, caches).select(1, 0)).to(ScalarType.Float64));
        }
        caches.ForEach(c => c.Dispose());
        return torch.stack(steps);
    }
}
