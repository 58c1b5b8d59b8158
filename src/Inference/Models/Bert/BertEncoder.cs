using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Service.Inference.Models.Bert;

// Module and field names equal Hugging Face's BertModel key names, so the state dict is the checkpoint's.

public sealed class BertEmbeddings : nn.Module
{
    readonly Embedding word_embeddings, position_embeddings, token_type_embeddings;
    [ComponentName(Name = "LayerNorm")] readonly LayerNorm layerNorm;
    readonly bool _robertaPositions;
    readonly long _padId;

    public BertEmbeddings(BertConfig c, Device device, ScalarType dtype) : base(nameof(BertEmbeddings))
    {
        word_embeddings = nn.Embedding(c.VocabSize, c.HiddenSize, device: device, dtype: dtype);
        position_embeddings = nn.Embedding(c.MaxPositionEmbeddings, c.HiddenSize, device: device, dtype: dtype);
        token_type_embeddings = nn.Embedding(c.TypeVocabSize, c.HiddenSize, device: device, dtype: dtype);
        layerNorm = nn.LayerNorm(c.HiddenSize, c.LayerNormEps, device: device, dtype: dtype);
        _robertaPositions = c.IsRoberta;
        _padId = c.PadTokenId;
        RegisterComponents();
    }

    public Tensor WordEmbeddings => word_embeddings.weight!;

    /// <summary>Position ids [B, T] (BERT: [1, T], the same for every row).</summary>
    public Tensor PositionIds(Tensor inputIds) => _robertaPositions
        // RoBERTa: real tokens count from padding_idx + 1, padding keeps position padding_idx.
        ? inputIds.ne(_padId).to(ScalarType.Int64).cumsum(1).mul(inputIds.ne(_padId)).add(_padId)
        : torch.arange(inputIds.shape[1], device: inputIds.device).unsqueeze(0);

    public Tensor forward(Tensor inputIds) // [B, T] -> [B, T, H]
    {
        var tokenTypes = torch.zeros_like(inputIds);
        var x = word_embeddings.forward(inputIds) + position_embeddings.forward(PositionIds(inputIds)) + token_type_embeddings.forward(tokenTypes);
        return layerNorm.forward(x);
    }
}

public sealed class BertSelfAttention : nn.Module
{
    readonly Linear query, key, value;
    readonly int _heads;
    Tensor? _fusedWeight, _fusedBias; // [3H, H], [3H]: query, key and value stacked, when fused

    public BertSelfAttention(BertConfig c, Device device, ScalarType dtype) : base(nameof(BertSelfAttention))
    {
        query = nn.Linear(c.HiddenSize, c.HiddenSize, device: device, dtype: dtype);
        key = nn.Linear(c.HiddenSize, c.HiddenSize, device: device, dtype: dtype);
        value = nn.Linear(c.HiddenSize, c.HiddenSize, device: device, dtype: dtype);
        _heads = c.NumAttentionHeads;
        RegisterComponents();
    }

    /// <summary>
    /// Before the checkpoint is read: query, key and value become the row blocks of one [3H, H] matrix
    /// and one [3H] bias, which the loader fills through them (names and values unchanged), so that a
    /// single product computes all three. On the CPU the three 16-row products each pay libtorch's
    /// per-call cost: measured here (interleaved, shared machine, 2 threads) the fused product takes
    /// 0.68-0.72x the time of the three. The GPU keeps three products, so its results are untouched.
    /// </summary>
    public void FuseProjections()
    {
        var weight = query.weight!;
        if (weight.device_type != DeviceType.CPU || _fusedWeight is not null) return;
        long h = weight.shape[0];
        _fusedWeight = torch.empty([3 * h, weight.shape[1]], weight.dtype, weight.device);
        _fusedBias = torch.empty(3 * h, weight.dtype, weight.device);
        foreach (var (linear, block) in new[] { (query, 0L), (key, 1L), (value, 2L) })
        {
            var (oldWeight, oldBias) = (linear.weight!, linear.bias!);
            linear.weight = new Parameter(_fusedWeight.narrow(0, block * h, h), requires_grad: false);
            linear.bias = new Parameter(_fusedBias.narrow(0, block * h, h), requires_grad: false);
            oldWeight.Dispose(); // freed now: the model never holds both layouts
            oldBias.Dispose();
        }
    }

    /// <summary>The projections' (weight [out, H], bias) pairs: one [3H, H] block when fused, else query, key and value.</summary>
    public IReadOnlyList<(Tensor Weight, Tensor Bias)> Projections => _fusedWeight is not null
        ? [(_fusedWeight, _fusedBias!)]
        : [(query.weight!, query.bias!), (key.weight!, key.bias!), (value.weight!, value.bias!)];

    public Tensor forward(Tensor x, Tensor keyMask) // x [B, T, H], keyMask [B, 1, 1, T] bool (true = attend)
    {
        long b = x.shape[0], t = x.shape[1], h = x.shape[2];
        Tensor Heads(Tensor y) => y.view(b, t, _heads, h / _heads).transpose(1, 2); // [B, nh, T, hs]
        Tensor q, k, v;
        if (_fusedWeight is not null)
        {
            var qkv = nn.functional.linear(x, _fusedWeight, _fusedBias).view(b, t, 3, _heads, h / _heads).permute(2, 0, 3, 1, 4); // [3, B, nh, T, hs]
            (q, k, v) = (qkv[0], qkv[1], qkv[2]);
        }
        else (q, k, v) = (Heads(query.forward(x)), Heads(key.forward(x)), Heads(value.forward(x)));
        var context = F.scaled_dot_product_attention(q, k, v, keyMask);
        return context.transpose(1, 2).reshape(b, t, h);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _fusedWeight?.Dispose();
            _fusedBias?.Dispose();
        }
        base.Dispose(disposing);
    }
}

/// <summary>dense + dropout + LayerNorm(x + residual): both `attention.output` and `output` in HF.</summary>
public sealed class BertResidualOutput : nn.Module
{
    readonly Linear dense;
    [ComponentName(Name = "LayerNorm")] readonly LayerNorm layerNorm;

    public BertResidualOutput(int inputSize, BertConfig c, Device device, ScalarType dtype) : base(nameof(BertResidualOutput))
    {
        dense = nn.Linear(inputSize, c.HiddenSize, device: device, dtype: dtype);
        layerNorm = nn.LayerNorm(c.HiddenSize, c.LayerNormEps, device: device, dtype: dtype);
        RegisterComponents();
    }

    public Tensor forward(Tensor x, Tensor residual) => layerNorm.forward(dense.forward(x) + residual);
}

public sealed class BertAttention : nn.Module
{
    [ComponentName(Name = "self")] readonly BertSelfAttention selfAttention;
    readonly BertResidualOutput output;

    public BertAttention(BertConfig c, Device device, ScalarType dtype) : base(nameof(BertAttention))
    {
        selfAttention = new BertSelfAttention(c, device, dtype);
        output = new BertResidualOutput(c.HiddenSize, c, device, dtype);
        RegisterComponents();
    }

    public Tensor forward(Tensor x, Tensor keyMask) => output.forward(selfAttention.forward(x, keyMask), x);
}

public sealed class BertIntermediate : nn.Module
{
    readonly Linear dense;
    readonly string _act;

    public BertIntermediate(BertConfig c, Device device, ScalarType dtype) : base(nameof(BertIntermediate))
    {
        dense = nn.Linear(c.HiddenSize, c.IntermediateSize, device: device, dtype: dtype);
        _act = c.HiddenAct;
        RegisterComponents();
    }

    public Tensor forward(Tensor x) => Activations.Apply(_act, dense.forward(x)); // [B, T, I]
}

public sealed class BertLayer : nn.Module
{
    readonly BertAttention attention;
    readonly BertIntermediate intermediate;
    readonly BertResidualOutput output;

    public BertLayer(BertConfig c, Device device, ScalarType dtype) : base(nameof(BertLayer))
    {
        attention = new BertAttention(c, device, dtype);
        intermediate = new BertIntermediate(c, device, dtype);
        output = new BertResidualOutput(c.IntermediateSize, c, device, dtype);
        RegisterComponents();
    }

    public Tensor forward(Tensor x, Tensor keyMask)
    {
        var attended = attention.forward(x, keyMask);
        return output.forward(intermediate.forward(attended), attended);
    }
}

public sealed class BertEncoder : nn.Module
{
    readonly ModuleList<BertLayer> layer;

    public BertEncoder(BertConfig c, Device device, ScalarType dtype) : base(nameof(BertEncoder))
    {
        layer = nn.ModuleList(Enumerable.Range(0, c.NumHiddenLayers).Select(_ => new BertLayer(c, device, dtype)).ToArray());
        RegisterComponents();
    }

    public int LayerCount => layer.Count;

    public Tensor forward(Tensor x, Tensor keyMask, HiddenStateIntervention? intervention)
    {
        return BlockScopes.Run(x, layer.Count, (k, h) => layer[k].forward(h, keyMask), intervention);
    }
}

/// <summary>`bert` in BertForMaskedLM, `roberta` in XLMRobertaForMaskedLM (no pooler: fill-mask never uses it).</summary>
public sealed class BertModel : nn.Module
{
    readonly BertEmbeddings embeddings;
    readonly BertEncoder encoder;

    public BertModel(BertConfig c, Device device, ScalarType dtype) : base(nameof(BertModel))
    {
        embeddings = new BertEmbeddings(c, device, dtype);
        encoder = new BertEncoder(c, device, dtype);
        RegisterComponents();
    }

    public BertEmbeddings Embeddings => embeddings;

    public Tensor forward(Tensor inputIds, Tensor attentionMask, HiddenStateIntervention? intervention) // -> [B, T, H]
    {
        var keyMask = attentionMask.to(ScalarType.Bool).unsqueeze(1).unsqueeze(1); // [B, 1, 1, T]
        var x = embeddings.forward(inputIds);
        if (intervention is not null) x = intervention(0, x);
        return encoder.forward(x, keyMask, intervention);
    }
}
