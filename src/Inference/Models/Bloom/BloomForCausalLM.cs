using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Service.Inference.Models.Bloom;

/// <summary>
/// BloomForCausalLM (bigscience/bloom-560m is LRP2's decoder): word embeddings with their own
/// LayerNorm, blocks with ALiBi attention over a fused per-head query_key_value, tanh GELU, `ln_f`,
/// and the head tied to the word embeddings. Module keys are BloomModel's (`word_embeddings.weight`,
/// `h.N...`, `ln_f...`); checkpoints saved with the `transformer.` prefix load too.
/// </summary>
public sealed class BloomForCausalLM : nn.Module, IHiddenStateModel
{
    readonly Embedding word_embeddings;
    readonly LayerNorm word_embeddings_layernorm, ln_f;
    readonly ModuleList<BloomBlock> h;
    readonly float[] _slopes; // ALiBi slope per head, derived: kept off the state dict

    public BloomConfig Config { get; }
    public Device Device { get; }

    public BloomForCausalLM(BloomConfig config, Device device, ScalarType dtype) : base(nameof(BloomForCausalLM))
    {
        Config = config;
        Device = device;
        word_embeddings = nn.Embedding(config.VocabSize, config.HiddenSize, device: device, dtype: dtype);
        word_embeddings_layernorm = nn.LayerNorm(config.HiddenSize, config.LayerNormEpsilon, device: device, dtype: dtype);
        h = nn.ModuleList(Enumerable.Range(0, config.Layers).Select(_ => new BloomBlock(config, device, dtype)).ToArray());
        ln_f = nn.LayerNorm(config.HiddenSize, config.LayerNormEpsilon, device: device, dtype: dtype);
        _slopes = AlibiSlopes(config.Heads);
        RegisterComponents();
    }

    public int LayerCount => Config.Layers;
    public int HiddenSize => Config.HiddenSize;
    public int VocabSize => Config.VocabSize;
    public int MaxSequenceLength => Config.MaxSequenceLength;

    /// <summary>Hidden states after the last block, before ln_f (LRP2's layer L), [B, T, H].</summary>
    public Tensor Encode(Tensor inputIds, Tensor attentionMask, HiddenStateIntervention? intervention = null)
    {
        var bias = AttentionBias(attentionMask, word_embeddings.weight!.dtype);
        var x = word_embeddings_layernorm.forward(word_embeddings.forward(inputIds));
        if (intervention is not null) x = intervention(0, x);
        return BlockScopes.Run(x, h.Count, (k, hidden) => h[k].forward(hidden, bias), intervention);
    }

    /// <summary>Next-token logits [..., V] from hidden states: ln_f, then the tied head.</summary>
    public Tensor Logits(Tensor hidden) => nn.functional.linear(ln_f.forward(hidden), word_embeddings.weight!);

    /// <summary>
    /// ALiBi plus causal and padding masks, [B, nh, T, T]: slope_h * position of the key, where
    /// positions count real tokens only (left padding shifts nothing), and -inf where a query may
    /// not look (future keys, padding). Softmax is shift-invariant per row, so this equals HF's form.
    /// </summary>
    Tensor AttentionBias(Tensor attentionMask, ScalarType dtype)
    {
        long t = attentionMask.shape[1];
        var mask = attentionMask.to(ScalarType.Int64);
        var positions = ((mask.cumsum(-1) - 1) * mask).to(ScalarType.Float32);                   // [B, T]
        var alibi = torch.tensor(_slopes, device: attentionMask.device).view(1, -1, 1, 1) * positions.view(positions.shape[0], 1, 1, t);       // [B, nh, 1, T]
        var causal = torch.ones(t, t, ScalarType.Bool, attentionMask.device).tril();                // [T, T]
        var allowed = causal.view(1, 1, t, t).logical_and(mask.to(ScalarType.Bool).view(-1, 1, 1, t));
        return alibi.masked_fill(allowed.logical_not(), float.NegativeInfinity).to(dtype);
    }

    /// <summary>HF's build_alibi_tensor slopes: a geometric sequence per power of two of heads, interleaved for the rest.</summary>
    public static float[] AlibiSlopes(int heads)
    {
        int closest = 1 << (int)Math.Floor(Math.Log2(heads));
        double Base(int n) => Math.Pow(2, -Math.Pow(2, -(Math.Log2(n) - 3)));
        var slopes = Enumerable.Range(1, closest).Select(p => Math.Pow(Base(closest), p)).ToList();
        if (closest != heads)
        {
            int remaining = Math.Min(closest, heads - closest);
            slopes.AddRange(Enumerable.Range(0, remaining).Select(i => Math.Pow(Base(2 * closest), 1 + 2 * i)));
        }
        return [.. slopes.Select(s => (float)s)];
    }

    /// <summary>Checkpoint key to module key: the `transformer.` prefix is optional, the tied head is not loaded.</summary>
    public static string? ModuleKey(string checkpointKey)
    {
        if (checkpointKey == "lm_head.weight") return null;
        return checkpointKey.StartsWith("transformer.", StringComparison.Ordinal) ? checkpointKey["transformer.".Length..] : checkpointKey;
    }
}
