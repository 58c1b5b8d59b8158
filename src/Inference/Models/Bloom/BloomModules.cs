using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Service.Inference.Models.Bloom;

// Field names equal Hugging Face's BloomModel keys (`h.N.self_attention.query_key_value`, ...).

public sealed class BloomAttention : nn.Module
{
    readonly Linear query_key_value, dense;
    readonly int _heads, _headSize;

    public BloomAttention(BloomConfig c, Device device, ScalarType dtype) : base(nameof(BloomAttention))
    {
        query_key_value = nn.Linear(c.HiddenSize, 3 * c.HiddenSize, device: device, dtype: dtype);
        dense = nn.Linear(c.HiddenSize, c.HiddenSize, device: device, dtype: dtype);
        _heads = c.Heads;
        _headSize = c.HeadSize;
        RegisterComponents();
    }

    /// <param name="bias">ALiBi plus causal and padding masks, [B, nh, T, T] (float, -inf where not attended).</param>
    public Tensor forward(Tensor x, Tensor bias)
    {
        long b = x.shape[0], t = x.shape[1];
        // The fused projection is laid out per head as (q, k, v): [B, T, nh, 3, hs].
        var qkv = query_key_value.forward(x).view(b, t, _heads, 3, _headSize);
        Tensor Part(int i) => qkv.select(3, i).transpose(1, 2);                          // [B, nh, T, hs]
        var scores = torch.matmul(Part(0), Part(1).transpose(-1, -2)) / Math.Sqrt(_headSize) + bias;
        // HF softmaxes in float32 whatever the weights' dtype.
        var weights = F.softmax(scores.to(ScalarType.Float32), -1).to(x.dtype);
        var context = torch.matmul(weights, Part(2)).transpose(1, 2).reshape(b, t, _heads * _headSize);
        return dense.forward(context);
    }
}

public sealed class BloomBlock : nn.Module
{
    readonly LayerNorm input_layernorm, post_attention_layernorm;
    readonly BloomAttention self_attention;
    readonly TanhGeluMlp mlp; // BLOOM's gelu is the tanh approximation
    readonly bool _residualPostLayerNorm;

    public BloomBlock(BloomConfig c, Device device, ScalarType dtype) : base(nameof(BloomBlock))
    {
        input_layernorm = nn.LayerNorm(c.HiddenSize, c.LayerNormEpsilon, device: device, dtype: dtype);
        self_attention = new BloomAttention(c, device, dtype);
        post_attention_layernorm = nn.LayerNorm(c.HiddenSize, c.LayerNormEpsilon, device: device, dtype: dtype);
        mlp = new TanhGeluMlp(c.HiddenSize, 4 * c.HiddenSize, device, dtype);
        _residualPostLayerNorm = c.ResidualPostLayerNorm;
        RegisterComponents();
    }

    public Tensor forward(Tensor x, Tensor bias)
    {
        var normed = input_layernorm.forward(x);
        var attended = self_attention.forward(normed, bias) + (_residualPostLayerNorm ? normed : x);
        var normed2 = post_attention_layernorm.forward(attended);
        return mlp.forward(normed2) + (_residualPostLayerNorm ? normed2 : attended);
    }
}
