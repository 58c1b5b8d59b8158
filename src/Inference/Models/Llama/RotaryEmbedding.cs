using TorchSharp;
using static TorchSharp.torch;

namespace Service.Inference.Models.Llama;

/// <summary>
/// Rotary position embedding in Hugging Face's "rotate half" layout: dimension i pairs with i + d/2.
/// The inverse frequencies are a non-persistent buffer (not a checkpoint key); angles are computed
/// per forward in float32, as transformers does, then cast to the activations' dtype.
/// </summary>
public sealed class RotaryEmbedding : nn.Module
{
    readonly Tensor inv_freq; // [d/2] float32

    public RotaryEmbedding(LlamaConfig c, Device device) : base(nameof(RotaryEmbedding))
    {
        inv_freq = torch.tensor(InverseFrequencies(c), ScalarType.Float32, device);
        register_buffer("inv_freq", inv_freq, persistent: false);
    }

    /// <summary>1 / theta^(2i/d), then Llama 3's scaling when rope_scaling asks for it.</summary>
    public static float[] InverseFrequencies(LlamaConfig c)
    {
        int dim = c.HeadDim;
        // float32 exponent as transformers computes it: arange(0, d, 2).float() / d
        var inv = Enumerable.Range(0, dim / 2).Select(i => 1.0f / MathF.Pow((float)c.RopeTheta, (float)(2 * i) / dim)).ToArray();
        return c.RopeScaling is { Type: "llama3" } s ? Llama3Scaled(inv, s) : inv;
    }

    /// <summary>Llama 3: low frequencies divided by factor, high ones kept, a smooth blend between.</summary>
    static float[] Llama3Scaled(float[] inv, RopeScaling s)
    {
        double lowWavelen = s.OriginalMaxPositionEmbeddings / s.LowFreqFactor;
        double highWavelen = s.OriginalMaxPositionEmbeddings / s.HighFreqFactor;
        return [.. inv.Select(f =>
        {
            double wavelen = 2 * Math.PI / f;
            if (wavelen < highWavelen) return f;
            if (wavelen > lowWavelen) return (float)(f / s.Factor);
            double smooth = (s.OriginalMaxPositionEmbeddings / wavelen - s.LowFreqFactor) / (s.HighFreqFactor - s.LowFreqFactor);
            return (float)((1 - smooth) * f / s.Factor + smooth * f);
        })];
    }

    /// <summary>cos and sin [..., d] for positions [...], in the given dtype.</summary>
    public (Tensor Cos, Tensor Sin) forward(Tensor positions, ScalarType dtype)
    {
        var angles = positions.to(ScalarType.Float32).unsqueeze(-1) * inv_freq; // [..., d/2]
        var both = torch.cat([angles, angles], -1);                             // [..., d]
        return (both.cos().to(dtype), both.sin().to(dtype));
    }

    /// <summary>x [B, h, T, d] rotated: x*cos + rotate_half(x)*sin.</summary>
    public static Tensor Apply(Tensor x, Tensor cos, Tensor sin)
    {
        long half = x.shape[^1] / 2;
        var rotated = torch.cat([-x.narrow(-1, half, half), x.narrow(-1, 0, half)], -1);
        return x * cos + rotated * sin;
    }
}
