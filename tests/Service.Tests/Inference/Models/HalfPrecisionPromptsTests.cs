using Service.Inference.Checkpoints;
using Service.Inference.Models;
using Service.Tests.Support;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Service.Tests.Inference.Models;

/// <summary>
/// A float16 model on the CPU multiplies prompt rows in float32 (libtorch's float16 matrix product is
/// slow there), and so does a bfloat16 one on a CPU without bfloat16 instructions (libtorch's is scalar there);
/// decode rows keep the dtype's kernel: the widened product is the float64 one rounded once to the dtype, and
/// a half-precision Llama reads a long prompt as its float32 twin does, up to the dtype's rounding.
/// </summary>
public sealed class HalfPrecisionPromptsTests
{
    static TorchSharp.Modules.Linear HalfLinear(int inputs, int outputs, ScalarType dtype)
    {
        torch.manual_seed(3);
        return nn.Linear(inputs, outputs, hasBias: true, dtype: dtype);
    }

    [Theory]
    [InlineData(ScalarType.Float16, HalfPrecisionPrompts.WidenFromRows)] // the first prompt chunk past a decode step's 8 rows
    [InlineData(ScalarType.BFloat16, HalfPrecisionPrompts.WidenFromRows)]
    [InlineData(ScalarType.Float16, 64)]
    public void Prompt_rows_are_multiplied_in_float32_and_rounded_once_to_the_dtype(ScalarType dtype, int rows)
    {
        using var scope = torch.NewDisposeScope();
        using var mode = torch.inference_mode();
        using var layer = HalfLinear(96, 80, dtype);
        var x = torch.randn(1, rows, 96).to(dtype);
        var widened = HalfPrecisionPrompts.Linear(layer, x);
        Assert.Equal(dtype, widened.dtype);
        if (dtype == ScalarType.BFloat16 && HalfPrecisionPrompts.NativeBFloat16)
        {
            Assert.True(widened.equal(layer.forward(x)).all().item<bool>(), "a CPU with bfloat16 instructions keeps libtorch's product");
            return;
        }
        var exact = F.linear(x.to(ScalarType.Float64), layer.weight!.to(ScalarType.Float64), layer.bias!.to(ScalarType.Float64));
        // Rounded once from a float32 sum: half a unit of the dtype (2^-11 or 2^-8 relative), float32's share of the
        // sum's magnitude, and float16's subnormal step near zero.
        var magnitude = F.linear(x.to(ScalarType.Float64).abs(), layer.weight!.to(ScalarType.Float64).abs(), layer.bias!.to(ScalarType.Float64).abs());
        var allowed = exact.abs() / (dtype == ScalarType.Float16 ? 2048 : 256) + magnitude * 1e-6 + 6e-8;
        var excess = (widened.to(ScalarType.Float64) - exact).abs() - allowed;
        Assert.True(excess.max().item<double>() <= 0, $"beyond {dtype} rounding by {excess.max().item<double>():E2}");
    }

    [Theory]
    [InlineData(ScalarType.Float16)]
    [InlineData(ScalarType.BFloat16)]
    public void Decode_rows_keep_the_dtypes_kernel(ScalarType dtype)
    {
        using var scope = torch.NewDisposeScope();
        using var mode = torch.inference_mode();
        using var layer = HalfLinear(96, 80, dtype);
        var x = torch.randn(8, 1, 96).to(dtype); // 8 streams, one token each
        Assert.True(HalfPrecisionPrompts.Linear(layer, x).equal(layer.forward(x)).all().item<bool>());
    }

    [Theory]
    [InlineData(ScalarType.Float16, 1e-2)]  // a few units of 2^-10 relative to the logits' range
    [InlineData(ScalarType.BFloat16, 5e-2)] // a few units of 2^-7
    public void A_half_precision_llama_reads_a_long_prompt_as_its_float32_twin(ScalarType dtype, double tolerance)
    {
        using var scope = torch.NewDisposeScope();
        using var mode = torch.inference_mode();
        var directory = CheckpointDirectory.Open(ChatFixtures.Dir(ChatFixtures.Llama));
        using var half = CausalLanguageModelLoader.Load(directory, torch.CPU, dtype);
        using var full = CausalLanguageModelLoader.Load(directory, torch.CPU, ScalarType.Float32);
        var random = new Random(9);
        var ids = torch.tensor(Enumerable.Range(0, 64) // the fixture reads up to 64 positions
           .Select(_ => (long)random.Next(half.VocabSize)).ToArray()).unsqueeze(0);
        Tensor Logits(ICausalLanguageModel model)
        {
            using var cache = model.NewCache((int)ids.shape[1]);
            return model.Logits(model.Forward(ids, cache)).to(ScalarType.Float32)[0]; // [T, V]
        }
        var expected = Logits(full);
        var actual = Logits(half);
        double scale = expected.abs().max().item<float>();
        double worst = (actual - expected).abs().max().item<float>();
        Assert.True(worst <= tolerance * scale, $"largest difference {worst:E2} at logit scale {scale:E2}");
        Assert.True(actual.argmax(-1).eq(expected.argmax(-1)).to(ScalarType.Float32).mean().item<float>() >= 0.9f);
    }
}
