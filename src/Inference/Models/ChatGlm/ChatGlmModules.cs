using Service.Inference.Generation;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Service.Inference.Models.ChatGlm;

// Module and field names equal ChatGLM-6B's keys: transformer.layers.N.attention.query_key_value.weight, ...

/// <summary>
/// Rotary tables over a quarter of each head (ChatGLM rotates each half of a head separately). The
/// inverse frequencies are rounded to float16 as ChatGLM-6B's buffer is; angles are computed in the
/// activations' dtype, as its float16 and float32 code paths do.
/// </summary>
public sealed class ChatGlmRotary : nn.Module
{
    readonly Tensor inv_freq;

    public ChatGlmRotary(int dim, Device device) : base(nameof(ChatGlmRotary))
    {
        var inv = Enumerable.Range(0, dim / 2).Select(i => (float)(Half)(1.0f / MathF.Pow(10000f, (float)(2 * i) / dim))).ToArray();
        inv_freq = torch.tensor(inv, ScalarType.Float32, device);
        register_buffer("inv_freq", inv_freq, persistent: false); // checkpoints store it; it is derived, so skipped
    }

    /// <summary>cos and sin [T, d] for positions [T].</summary>
    public (Tensor Cos, Tensor Sin) forward(Tensor positions, ScalarType dtype)
    {
        var angles = positions.to(dtype).unsqueeze(1) * inv_freq.to(dtype).unsqueeze(0);
        var both = torch.cat([angles, angles], -1);
        return (both.cos(), both.sin());
    }
}

/// <summary>
/// ChatGLM-6B self-attention: one fused projection laid out per head as [q | k | v], the first half
/// of each head rotated by position ids and the second half by block position ids.
/// </summary>
public sealed class ChatGlmAttention : nn.Module
{
    readonly Linear query_key_value, dense;
    readonly ChatGlmRotary rotary_emb;
    readonly int _heads, _headDim, _layer;

    public ChatGlmAttention(ChatGlmConfig c, int layer, Device device, ScalarType dtype) : base(nameof(ChatGlmAttention))
    {
        _heads = c.NumAttentionHeads;
        _headDim = c.HeadDim;
        _layer = layer;
        query_key_value = nn.Linear(c.HiddenSize, 3 * c.HiddenSize, device: device, dtype: dtype);
        dense = nn.Linear(c.HiddenSize, c.HiddenSize, device: device, dtype: dtype);
        rotary_emb = new ChatGlmRotary(_headDim / 2, device);
        RegisterComponents();
    }

    /// <param name="x">[B, T, H]</param>
    /// <param name="positions">[T] position ids and [T] block position ids of the new tokens.</param>
    /// <param name="mask">[T, past + T] bool (true = attend), or null when every key is visible.</param>
    public Tensor forward(Tensor x, (Tensor Position, Tensor Block) positions, Tensor? mask, KvCache cache)
    {
        long b = x.shape[0], t = x.shape[1];
        var qkv = query_key_value.forward(x).view(b, t, _heads, 3 * _headDim).transpose(1, 2); // [B, nh, T, 3hs]
        var parts = qkv.split(_headDim, -1);
        var q = Rotate(parts[0], positions, x.dtype);
        var k = Rotate(parts[1], positions, x.dtype);
        var (keys, values) = cache.Append(_layer, k, parts[2]);
        var context = F.scaled_dot_product_attention(q, keys, values, mask); // [B, nh, T, hs]
        return dense.forward(context.transpose(1, 2).reshape(b, t, _heads * _headDim));
    }

    Tensor Rotate(Tensor x, (Tensor Position, Tensor Block) positions, ScalarType dtype)
    {
        long half = _headDim / 2;
        var (cos1, sin1) = rotary_emb.forward(positions.Position, dtype);
        var (cos2, sin2) = rotary_emb.forward(positions.Block, dtype);
        var first = Llama.RotaryEmbedding.Apply(x.narrow(-1, 0, half), cos1, sin1);
        var second = Llama.RotaryEmbedding.Apply(x.narrow(-1, half, half), cos2, sin2);
        return torch.cat([first, second], -1);
    }
}

/// <summary>
/// GLMBlock with DeepNorm residuals: x = LN(h); h = x*alpha + Attn(x); y = LN(h); out = y*alpha + MLP(y),
/// alpha = sqrt(2 * num_layers).
/// </summary>
public sealed class ChatGlmBlock : nn.Module
{
    readonly LayerNorm input_layernorm, post_attention_layernorm;
    readonly ChatGlmAttention attention;
    readonly TanhGeluMlp mlp;
    readonly double _alpha;

    public ChatGlmBlock(ChatGlmConfig c, int layer, Device device, ScalarType dtype) : base(nameof(ChatGlmBlock))
    {
        input_layernorm = nn.LayerNorm(c.HiddenSize, c.LayerNormEpsilon, device: device, dtype: dtype);
        attention = new ChatGlmAttention(c, layer, device, dtype);
        post_attention_layernorm = nn.LayerNorm(c.HiddenSize, c.LayerNormEpsilon, device: device, dtype: dtype);
        mlp = new TanhGeluMlp(c.HiddenSize, c.InnerHiddenSize, device, dtype);
        _alpha = Math.Sqrt(2.0 * c.NumLayers);
        RegisterComponents();
    }

    public Tensor forward(Tensor h, (Tensor, Tensor) positions, Tensor? mask, KvCache cache)
    {
        var x = input_layernorm.forward(h);
        h = x * _alpha + attention.forward(x, positions, mask, cache);
        var y = post_attention_layernorm.forward(h);
        return y * _alpha + mlp.forward(y);
    }
}
