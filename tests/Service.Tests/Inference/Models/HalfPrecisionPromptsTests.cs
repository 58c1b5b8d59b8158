using Service.Inference.Checkpoints;
using Service.Inference.Models;
using Service.Tests.Support;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Service.Tests.Inference.Models;

/// <summary>
/// A float16 model on the CPU multiplies prompt rows in float32 (libtorch's float16 matrix product is
/// slow there) and keeps float16 for decode rows: the widened product is the float64 one rounded to
/// float16, and a float16 Llama reads a long prompt as its float32 twin does, up to float16 rounding.
/// </summary>
public sealed class HalfPrecisionPromptsTests
{
    static TorchSharp.Modules.Linear HalfLinear(int inputs, int outputs)
    {
        torch.manual_seed(3);
        return nn.Linear(inputs, outputs, hasBias: true, dtype: ScalarType.Float16);
    }

    [Fact]
    public void Prompt_rows_are_multiplied_in_float32_and_rounded_once_to_float16()
    {
        using var scope = torch.NewDisposeScope();
        using var mode = torch.inference_mode();
        using var layer = HalfLinear(96, 80);
        var x = torch.randn(1, HalfPrecisionPrompts.WidenFromRows + 5, 96).to(ScalarType.Float16);
        var widened = HalfPrecisionPrompts.Linear(layer, x);
        Assert.Equal(ScalarType.Float16, widened.dtype);
        var exact = F.linear(x.to(ScalarType.Float64), layer.weight!.to(ScalarType.Float64), layer.bias!.to(ScalarType.Float64));
        // Rounded once from a float32 sum: half a float16 unit (2^-11 relative), float32's share of the
        // sum's magnitude, and float16's subnormal step near zero.
        var magnitude = F.linear(x.to(ScalarType.Float64).abs(), layer.weight!.to(ScalarType.Float64).abs(), layer.bias!.to(ScalarType.Float64).abs());
        var allowed = exact.abs() / 2048 + magnitude * 1e-6 + 6e-8;
        var excess = (widened.to(ScalarType.Float64) - exact).abs() - allowed;
        Assert.True(excess.max().item<double>() <= 0, $"beyond float16 rounding by {excess.max().item<double>():E2}");
    }

    [Fact]
    public void Decode_rows_keep_the_float16_kernel()
    {
        using var scope = torch.NewDisposeScope();
        using var mode = torch.inference_mode();
        using var layer = HalfLinear(96, 80);
        var x = torch.randn(8, 1, 96).to(ScalarType.Float16); // 8 streams, one token each
        Assert.True(HalfPrecisionPrompts.Linear(layer, x).equal(layer.forward(x)).all().item<bool>());
    }

    [Fact]
    public void A_float16_llama_reads_a_long_prompt_as_its_float32_twin()
    {
        using var scope = torch.NewDisposeScope();
        using var mode = torch.inference_mode();
        var directory = CheckpointDirectory.Open(ChatFixtures.Dir(ChatFixtures.Llama));
        using var half = CausalLanguageModelLoader.Load(directory, torch.CPU, ScalarType.Float16);
        using var full = CausalLanguageModelLoader.Load(directory, torch.CPU, ScalarType.Float32);
        var random = new Random(9);
        var ids = torch.tensor(Enumerable.Range(0, HalfPrecisionPrompts.WidenFromRows) // the fixture reads up to 64 positions
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
        // Float16 weights and activations: a few units of 2^-10 relative to the logits' range.
        Assert.True(worst <= 1e-2 * scale, $"largest difference {worst:E2} at logit scale {scale:E2}");
        Assert.True(actual.argmax(-1).eq(expected.argmax(-1)).to(ScalarType.Float32).mean().item<float>() >= 0.9f);
    }
}
