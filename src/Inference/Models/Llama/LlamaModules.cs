using Service.Inference.Generation;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Service.Inference.Models.Llama;

// Module and field names equal Hugging Face's LlamaModel / Qwen2Model key names, so the state dict
// is the checkpoint's: model.layers.N.self_attn.q_proj.weight, model.layers.N.mlp.gate_proj.weight, ...

/// <summary>RMSNorm as transformers computes it: normalise in float32, cast back, then scale.</summary>
public sealed class LlamaRMSNorm : nn.Module
{
    readonly Parameter weight;
    readonly double _eps;

    public LlamaRMSNorm(int size, double eps, Device device, ScalarType dtype) : base(nameof(LlamaRMSNorm))
    {
        weight = nn.Parameter(torch.ones(size, dtype, device));
        _eps = eps;
        RegisterComponents();
    }

    public Tensor forward(Tensor x)
    {
        var x32 = x.to(ScalarType.Float32);
        var normed = x32 * torch.rsqrt(x32.pow(2).mean([-1], keepdim: true) + _eps);
        return weight * normed.to(x.dtype);
    }
}

/// <summary>Grouped-query attention with rotary positions, writing its keys and values to the request's cache.</summary>
public sealed class LlamaAttention : nn.Module
{
    readonly Linear q_proj, k_proj, v_proj, o_proj;
    readonly int _heads, _kvHeads, _headDim, _layer;

    public LlamaAttention(LlamaConfig c, int layer, Device device, ScalarType dtype) : base(nameof(LlamaAttention))
    {
        _heads = c.NumAttentionHeads;
        _kvHeads = c.KeyValueHeads;
        _headDim = c.HeadDim;
        _layer = layer;
        q_proj = nn.Linear(c.HiddenSize, _heads * _headDim, hasBias: c.QkvBias, device: device, dtype: dtype);
        k_proj = nn.Linear(c.HiddenSize, _kvHeads * _headDim, hasBias: c.QkvBias, device: device, dtype: dtype);
        v_proj = nn.Linear(c.HiddenSize, _kvHeads * _headDim, hasBias: c.QkvBias, device: device, dtype: dtype);
        o_proj = nn.Linear(_heads * _headDim, c.HiddenSize, hasBias: c.OutputBias, device: device, dtype: dtype);
        RegisterComponents();
    }

    /// <param name="x">[B, T, H], the T newest positions.</param>
    /// <param name="mask">[T, past + T] bool (true = attend), or null for a single new position.</param>
    public Tensor forward(Tensor x, Tensor cos, Tensor sin, Tensor? mask, KvCache cache)
    {
        long b = x.shape[0], t = x.shape[1];
        Tensor Heads(Tensor y, int heads) => y.view(b, t, heads, _headDim).transpose(1, 2); // [B, h, T, hs]
        var q = RotaryEmbedding.Apply(Heads(q_proj.forward(x), _heads), cos, sin);
        var k = RotaryEmbedding.Apply(Heads(k_proj.forward(x), _kvHeads), cos, sin);
        var (keys, values) = cache.Append(_layer, k, Heads(v_proj.forward(x), _kvHeads)); // [B, kvh, S, hs]
        int groups = _heads / _kvHeads;
        if (groups > 1)
        {
            keys = keys.repeat_interleave(groups, dim: 1);   // [B, h, S, hs], as transformers' repeat_kv
            values = values.repeat_interleave(groups, dim: 1);
        }
        var context = F.scaled_dot_product_attention(q, keys, values, mask); // [B, h, T, hs]
        return o_proj.forward(context.transpose(1, 2).reshape(b, t, _heads * _headDim));
    }
}

/// <summary>SwiGLU: down(silu(gate(x)) * up(x)).</summary>
public sealed class LlamaMLP : nn.Module
{
    readonly Linear gate_proj, up_proj, down_proj;

    public LlamaMLP(LlamaConfig c, Device device, ScalarType dtype) : base(nameof(LlamaMLP))
    {
        gate_proj = nn.Linear(c.HiddenSize, c.IntermediateSize, hasBias: c.MlpBias, device: device, dtype: dtype);
        up_proj = nn.Linear(c.HiddenSize, c.IntermediateSize, hasBias: c.MlpBias, device: device, dtype: dtype);
        down_proj = nn.Linear(c.IntermediateSize, c.HiddenSize, hasBias: c.MlpBias, device: device, dtype: dtype);
        RegisterComponents();
    }

    /// <remarks>SiLU and the product work in place, and up(x) is freed at once: a long prompt holds two [T, I] activations, not four.</remarks>
    public Tensor forward(Tensor x)
    {
        var gated = gate_proj.forward(x).silu_();
        using (var up = up_proj.forward(x)) gated.mul_(up);
        return down_proj.forward(gated);
    }
}

/// <summary>Pre-norm block: h = x + attn(norm(x)); out = h + mlp(norm(h)).</summary>
public sealed class LlamaDecoderLayer : nn.Module
{
    readonly LlamaAttention self_attn;
    readonly LlamaMLP mlp;
    readonly LlamaRMSNorm input_layernorm, post_attention_layernorm;

    public LlamaDecoderLayer(LlamaConfig c, int layer, Device device, ScalarType dtype) : base(nameof(LlamaDecoderLayer))
    {
        self_attn = new LlamaAttention(c, layer, device, dtype);
        mlp = new LlamaMLP(c, device, dtype);
        input_layernorm = new LlamaRMSNorm(c.HiddenSize, c.RmsNormEps, device, dtype);
        post_attention_layernorm = new LlamaRMSNorm(c.HiddenSize, c.RmsNormEps, device, dtype);
        RegisterComponents();
    }

    public Tensor forward(Tensor x, Tensor cos, Tensor sin, Tensor? mask, KvCache cache)
    {
        Tensor h;
        using (var scope = torch.NewDisposeScope()) // attention's temporaries are freed before the MLP allocates
            h = scope.MoveToOuter(x + self_attn.forward(input_layernorm.forward(x), cos, sin, mask, cache));
        return h + mlp.forward(post_attention_layernorm.forward(h));
    }
}

/// <summary>`model` in LlamaForCausalLM / Qwen2ForCausalLM: embeddings, blocks, final norm.</summary>
public sealed class LlamaModel : nn.Module
{
    readonly Embedding embed_tokens;
    readonly ModuleList<LlamaDecoderLayer> layers;
    readonly LlamaRMSNorm norm;
    readonly RotaryEmbedding rotary_emb;

    public LlamaModel(LlamaConfig c, Device device, ScalarType dtype) : base(nameof(LlamaModel))
    {
        embed_tokens = nn.Embedding(c.VocabSize, c.HiddenSize, device: device, dtype: dtype);
        layers = nn.ModuleList(Enumerable.Range(0, c.NumHiddenLayers).Select(i => new LlamaDecoderLayer(c, i, device, dtype)).ToArray());
        norm = new LlamaRMSNorm(c.HiddenSize, c.RmsNormEps, device, dtype);
        rotary_emb = new RotaryEmbedding(c, device);
        RegisterComponents();
    }

    public Tensor EmbeddingWeight => embed_tokens.weight!;

    /// <summary>Final hidden states [B, T, H] of the T new tokens [B, T], which follow the cache's positions.</summary>
    public Tensor forward(Tensor inputIds, KvCache cache, HiddenStateIntervention? intervention)
    {
        long t = inputIds.shape[1];
        int past = cache.Length;
        var positions = torch.arange(past, past + t, dtype: ScalarType.Int64, device: inputIds.device);
        var x = embed_tokens.forward(inputIds);
        var (cos, sin) = rotary_emb.forward(positions, x.dtype);
        // New position i sees cached positions and new ones up to itself; one new token sees everything.
        var mask = t == 1 ? null : torch.arange(past + t, device: inputIds.device).unsqueeze(0) <= positions.unsqueeze(1); // [T, past + T]
        if (intervention is not null) x = intervention(0, x);
        x = BlockScopes.Run(x, layers.Count, (k, h) => layers[k].forward(h, cos, sin, mask, cache), intervention);
        cache.Advance((int)t);
        return norm.forward(x);
    }
}
