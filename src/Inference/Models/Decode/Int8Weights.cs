using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Service.Inference.Models.Decode;

/// <summary>
/// 8-bit weights (Models:Chat:Weights=int8): each matrix [out, in] quantised once at load, symmetric
/// per output row, w ≈ q * scale[o] with q in [-127, 127] and scale[o] = max_k |w[o, k]| / 127, so
/// every weight is within scale[o] / 2 of its float32 value. A module keeps the int8 matrix as its
/// `weight` (same name and shape; a quarter of the bytes a decode step streams) and the scales as
/// a `weight_scale` buffer. Decode steps multiply it as integers (<see cref="Int8DotKernel"/>): their
/// activations are quantised too, to 8 bits per block of 32 inputs, as llama.cpp's Q8_0 does. A prompt
/// dequantises one matrix at a time to float32 for libtorch's GEMM, exactly the product of the dequantised
/// weights with float32 activations. So prompts and decode steps no longer see exactly the same model:
/// a decode step adds the activations' rounding (each within half a step of its block's scale); the
/// logit error against float32 is bounded in Int8WeightsTests and measured by the benchmark's --decode-peers.
/// </summary>
public static class Int8Weights
{
    public const string ScaleName = "weight_scale";

    /// <summary>The quantised values and per-row scales of a float matrix (a row of zeros gets scale 0).</summary>
    public static (Tensor Values, Tensor Scales) Quantize(Tensor weight)
    {
        using var scope = torch.NewDisposeScope();
        var w = weight.to(ScalarType.Float32);
        var scales = w.abs().amax([1]) / 127; // [out]
        var values = (w / scales.clamp_min(float.Epsilon).unsqueeze(1)).round_().clamp_(-127, 127).to(ScalarType.Int8).contiguous();
        return (scope.MoveToOuter(values), scope.MoveToOuter(scales.contiguous()));
    }

    /// <summary>The float32 matrix an int8 one stands for.</summary>
    public static Tensor Dequantize(Tensor values, Tensor scales) => values.to(ScalarType.Float32) * scales.unsqueeze(1);

    public static void Quantize(Linear linear)
    {
        var old = linear.weight!;
        linear.weight = Replace(linear, old);
        old.Dispose(); // the float32 matrix goes at once: quantising a model needs one matrix of headroom, not a second model
    }

    public static void Quantize(Embedding embedding)
    {
        var old = embedding.weight!;
        embedding.weight = Replace(embedding, old);
        old.Dispose();
    }

    static Parameter Replace(nn.Module module, Parameter old)
    {
        var (values, scales) = Quantize(old);
        module.register_buffer(ScaleName, scales.DetachFromDisposeScope()); // owned by the module from now on, like its weight
        return new Parameter(values, requires_grad: false);
    }

    /// <summary>The per-row scales of a quantised module's weight, or null when it holds float weights.</summary>
    public static Tensor? Scales(nn.Module module, Tensor weight) =>
        weight.dtype == ScalarType.Int8 ? module.get_buffer(ScaleName) : null;

    /// <summary>Rows of an embedding matrix, dequantised when it is int8 (the tied head's matrix).</summary>
    public static Tensor Embed(Embedding embedding, Tensor ids)
    {
        var weight = embedding.weight!;
        if (Scales(embedding, weight) is not { } scales) return embedding.forward(ids);
        var flat = ids.flatten();
        var rows = Dequantize(weight.index_select(0, flat), scales.index_select(0, flat)); // [N, H]
        return rows.view([.. ids.shape, weight.shape[1]]);
    }
}

/// <summary>A decoder whose matrices can be quantised to int8 after loading (Models:Chat:Weights=int8).</summary>
public interface IInt8Weights
{
    void QuantizeWeights();
}
