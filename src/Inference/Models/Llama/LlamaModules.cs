using Service.Inference.Generation;
using Service.Inference.Models.Decode;
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
    readonly ScalarType _cacheDtype; // the model's: float32 activations of a half-precision model are rounded to it when cached

    public LlamaAttention(LlamaConfig c, int layer, Device device, ScalarType dtype) : base(nameof(LlamaAttention))
    {
        _heads = c.NumAttentionHeads;
        _kvHeads = c.KeyValueHeads;
        _headDim = c.HeadDim;
        _layer = layer;
        _cacheDtype = dtype;
        q_proj = nn.Linear(c.HiddenSize, _heads * _headDim, hasBias: c.QkvBias, device: device, dtype: dtype);
        k_proj = nn.Linear(c.HiddenSize, _kvHeads * _headDim, hasBias: c.QkvBias, device: device, dtype: dtype);
        v_proj = nn.Linear(c.HiddenSize, _kvHeads * _headDim, hasBias: c.QkvBias, device: device, dtype: dtype);
        o_proj = nn.Linear(_heads * _headDim, c.HiddenSize, hasBias: c.OutputBias, device: device, dtype: dtype);
        RegisterComponents();
    }

    /// <param name="x">[B, T, H], the T newest positions of B sequences, row b continuing caches[b].</param>
    /// <param name="cos">Rotary cos [B, 1, T, hs] (sin likewise), each row at its own positions.</param>
    /// <param name="mask">[T, past + T] bool (true = attend) for a prompt chunk after cached positions; null for a
    /// whole prompt (causal) or for one token per sequence (it sees its whole cache).</param>
    public Tensor forward(Tensor x, Tensor cos, Tensor sin, Tensor? mask, IReadOnlyList<KvCache> caches)
    {
        long b = x.shape[0], t = x.shape[1];
        Tensor Heads(Tensor y, int heads) => y.view(b, t, heads, _headDim).transpose(1, 2); // [B, h, T, hs]
        var q = RotaryEmbedding.Apply(Heads(DecodeProjection.Linear(q_proj, x), _heads), cos, sin);
        var k = RotaryEmbedding.Apply(Heads(DecodeProjection.Linear(k_proj, x), _kvHeads), cos, sin);
        var v = Heads(DecodeProjection.Linear(v_proj, x), _kvHeads);
        // The projections above ran once for the whole batch (one pass over the weights); attention is
        // per sequence, because each reads its own cache of its own length.
        var context = b == 1
            ? Attend(q, k, v, mask, caches[0])
            : torch.cat(Enumerable.Range(0, (int)b).Select(i => Attend(q.narrow(0, i, 1), k.narrow(0, i, 1), v.narrow(0, i, 1), mask, caches[i])).ToArray(), 0);
        return DecodeProjection.Linear(o_proj, context.transpose(1, 2).reshape(b, t, _heads * _headDim));
    }

    /// <summary>
    /// One sequence's attention [1, h, T, hs] over its cache. A decoded token's grouped-query heads
    /// are not expanded: the queries of the heads sharing a KV head are stacked along the query axis
    /// ([1, kvh, groups, hs]), the same arithmetic as transformers' repeat_kv without copying the
    /// whole cache groups times per step. A prompt (T > 1) expands the heads instead, so that SDPA can
    /// take its fused causal kernel, which never materialises the T x S score matrix.
    /// </summary>
    Tensor Attend(Tensor q, Tensor k, Tensor v, Tensor? mask, KvCache cache)
    {
        long t = q.shape[2];
        int groups = _heads / _kvHeads;
        var (keys, values) = cache.Append(_layer, k.to(_cacheDtype), v.to(_cacheDtype)); // [1, kvh, S, hs]
        if (keys.dtype != q.dtype) (keys, values) = (keys.to(q.dtype), values.to(q.dtype));
        if (t == 1)
            return F.scaled_dot_product_attention(q.reshape(1, _kvHeads, groups, _headDim), keys, values).reshape(1, _heads, 1, _headDim);
        if (groups > 1)
        {
            keys = keys.repeat_interleave(groups, dim: 1); // [1, h, S, hs], head kv * groups + g as repeat_kv
            values = values.repeat_interleave(groups, dim: 1);
        }
        return F.scaled_dot_product_attention(q, keys, values, mask, is_casual: mask is null);
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
        var gated = DecodeProjection.Linear(gate_proj, x).silu_();
        using (var up = DecodeProjection.Linear(up_proj, x)) gated.mul_(up);
        return DecodeProjection.Linear(down_proj, gated);
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

    public Tensor forward(Tensor x, Tensor cos, Tensor sin, Tensor? mask, IReadOnlyList<KvCache> caches)
    {
        Tensor h;
        using (var scope = torch.NewDisposeScope()) // attention's temporaries are freed before the MLP allocates
            h = scope.MoveToOuter(x + self_attn.forward(input_layernorm.forward(x), cos, sin, mask, caches));
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
    readonly ScalarType _activations;

    public LlamaModel(LlamaConfig c, Device device, ScalarType dtype) : base(nameof(LlamaModel))
    {
        _activations = ActivationType(device, dtype);
        embed_tokens = nn.Embedding(c.VocabSize, c.HiddenSize, device: device, dtype: dtype);
        layers = nn.ModuleList(Enumerable.Range(0, c.NumHiddenLayers).Select(i => new LlamaDecoderLayer(c, i, device, dtype)).ToArray());
        norm = new LlamaRMSNorm(c.HiddenSize, c.RmsNormEps, device, dtype);
        rotary_emb = new RotaryEmbedding(c, device);
        RegisterComponents();
    }

    /// <summary>
    /// The dtype the model computes in: its own, but float32 for a bfloat16/float16 model on the CPU (weights and KV cache
    /// stay in the dtype). On the CPU the products of those dtypes are widened to float32 anyway (the decode kernel,
    /// HalfPrecisionPrompts), and the written-out decode step computes in float32: prompts and decode steps then run
    /// the same arithmetic (cached positions and recomputed ones differ by float32 rounding and the few cached values that
    /// then round to a neighbouring half), as llama.cpp computes over such weights. CUDA keeps the dtype (its tensor cores).
    /// </summary>
    public static ScalarType ActivationType(Device device, ScalarType dtype) =>
        device.type == DeviceType.CPU && dtype is ScalarType.BFloat16 or ScalarType.Float16 ? ScalarType.Float32 : dtype;

    public Tensor EmbeddingWeight => embed_tokens.weight!;
    public Embedding Embeddings => embed_tokens;

    /// <summary>
    /// Final hidden states [B, T, H] of new tokens [B, T]; row b continues caches[b] from its own length.
    /// Several rows (a decode batch) must each bring one token; a prompt (T > 1) comes alone.
    /// </summary>
    public Tensor forward(Tensor inputIds, IReadOnlyList<KvCache> caches, HiddenStateIntervention? intervention)
    {
        long b = inputIds.shape[0], t = inputIds.shape[1];
        if (b != caches.Count) throw new ArgumentException($"{b} rows of input ids but {caches.Count} caches.", nameof(caches));
        if (b > 1 && t > 1) throw new ArgumentException("A batch of sequences decodes one token each; prefill prompts one at a time.", nameof(inputIds));
        var offsets = torch.tensor(caches.Select(c => (long)c.Length).ToArray(), device: inputIds.device).unsqueeze(1); // [B, 1]
        var positions = offsets + torch.arange(t, dtype: ScalarType.Int64, device: inputIds.device).unsqueeze(0);  // [B, T]
        var x = Int8Weights.Embed(embed_tokens, inputIds).to(_activations);
        var (cos, sin) = rotary_emb.forward(positions, x.dtype); // [B, T, hs]
        cos = cos.unsqueeze(1);
        sin = sin.unsqueeze(1);
        // A later prompt chunk's position i sees the cache and the new positions up to itself; a first
        // chunk is plainly causal, and one new token sees everything.
        int past = caches[0].Length;
        var mask = t == 1 || past == 0 ? null : torch.arange(past + t, device: inputIds.device).unsqueeze(0) <= positions[0].unsqueeze(1); // [T, past + T]
        if (intervention is not null) x = intervention(0, x);
        x = BlockScopes.Run(x, layers.Count, (k, h) => layers[k].forward(h, cos, sin, mask, caches), intervention);
        foreach (var cache in caches) cache.Advance((int)t);
        return norm.forward(x);
    }
}
