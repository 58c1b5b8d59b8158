using Service.Inference.Generation;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Service.Inference.Models.ChatGlm;

/// <summary>
/// ChatGLM-6B's per-request positions: the prompt ends with [gMASK] &lt;sop&gt;; tokens before &lt;sop&gt;
/// (the context) see each other in both directions and count positions 0, 1, ...; from &lt;sop&gt; on,
/// every token takes the mask's position and its block position counts 1, 2, ...
/// </summary>
public sealed class ChatGlmCache(int layers, int capacity) : KvCache(layers, capacity)
{
    public int ContextLength { get; set; } = -1;
    public int MaskPosition { get; set; }
}

/// <summary>`transformer` of ChatGLM-6B: word embeddings, GLM blocks, final LayerNorm.</summary>
public sealed class ChatGlmModel : nn.Module
{
    readonly Embedding word_embeddings;
    readonly ModuleList<ChatGlmBlock> layers;
    readonly LayerNorm final_layernorm;

    public ChatGlmModel(ChatGlmConfig c, Device device, ScalarType dtype) : base(nameof(ChatGlmModel))
    {
        word_embeddings = nn.Embedding(c.VocabSize, c.HiddenSize, device: device, dtype: dtype);
        layers = nn.ModuleList(Enumerable.Range(0, c.NumLayers).Select(i => new ChatGlmBlock(c, i, device, dtype)).ToArray());
        final_layernorm = nn.LayerNorm(c.HiddenSize, c.LayerNormEpsilon, device: device, dtype: dtype);
        RegisterComponents();
    }

    public Tensor forward(Tensor inputIds, (Tensor, Tensor) positions, Tensor? mask, KvCache cache, HiddenStateIntervention? intervention)
    {
        var x = word_embeddings.forward(inputIds);
        if (intervention is not null) x = intervention(0, x);
        x = BlockScopes.Run(x, layers.Count, (k, h) => layers[k].forward(h, positions, mask, cache), intervention);
        return final_layernorm.forward(x);
    }
}

/// <summary>ChatGLM-6B (`transformer.*`, `lm_head.weight`), the base model of the original SoulChat.</summary>
public sealed class ChatGlmForConditionalGeneration : nn.Module, ICausalLanguageModel
{
    readonly ChatGlmModel transformer;
    readonly Linear lm_head;

    public ChatGlmConfig Config { get; }
    public Device Device { get; }

    public ChatGlmForConditionalGeneration(ChatGlmConfig config, Device device, ScalarType dtype) : base(nameof(ChatGlmForConditionalGeneration))
    {
        Config = config;
        Device = device;
        transformer = new ChatGlmModel(config, device, dtype);
        lm_head = nn.Linear(config.HiddenSize, config.VocabSize, hasBias: false, device: device, dtype: dtype);
        RegisterComponents();
    }

    public int LayerCount => Config.NumLayers;
    public int VocabSize => Config.VocabSize;
    public int MaxSequenceLength => Config.MaxSequenceLength;

    public KvCache NewCache(int capacity) => new ChatGlmCache(Config.NumLayers, capacity);

    public long KvBytesPerPosition => 2L * Config.NumLayers * Config.HiddenSize * lm_head.weight!.ElementSize;

    /// <summary>The prompt's context attends both ways (prefix-LM), so no part of it can run before the rest arrives.</summary>
    public bool CanChunkPrefill => false;

    public Tensor Forward(Tensor inputIds, KvCache cache, HiddenStateIntervention? intervention = null)
    {
        var state = cache as ChatGlmCache ?? throw new ArgumentException("ChatGLM needs the cache from its own NewCache.", nameof(cache));
        long t = inputIds.shape[1];
        int past = state.Length;
        if (state.ContextLength < 0) FindContext(inputIds, state);
        var index = torch.arange(past, past + t, dtype: ScalarType.Int64, device: inputIds.device); // [T] absolute indices
        var inContext = index < state.ContextLength;
        var position = torch.where(inContext, index, torch.full_like(index, state.MaskPosition));
        var block = torch.where(inContext, torch.zeros_like(index), index - state.ContextLength + 1);
        var keys = torch.arange(past + t, device: inputIds.device).unsqueeze(0);                   // [1, S]
        // Causal, except that every token sees the whole context (ChatGLM's prefix-LM mask).
        var mask = t == 1 ? null : (keys <= index.unsqueeze(1)).logical_or(keys < state.ContextLength); // [T, S]
        var hidden = transformer.forward(inputIds, (position, block), mask, cache, intervention);
        cache.Advance((int)t);
        return hidden;
    }

    public Tensor Logits(Tensor hidden) => lm_head.forward(hidden);

    /// <summary>The derived rotary buffer ChatGLM-6B checkpoints store is recomputed, not loaded.</summary>
    public static string? ModuleKey(string checkpointKey) =>
        checkpointKey.EndsWith(".rotary_emb.inv_freq", StringComparison.Ordinal) ? null : checkpointKey;

    void FindContext(Tensor inputIds, ChatGlmCache state)
    {
        var ids = inputIds[0].cpu().data<long>().ToArray();
        int context = Array.IndexOf(ids, (long)Config.BosTokenId);
        if (context < 0)
            throw new ArgumentException($"a ChatGLM prompt must end with [gMASK] <sop> (id {Config.BosTokenId}); the prompt has no <sop>.");
        int mask = Array.IndexOf(ids, (long)Config.GMaskTokenId);
        state.ContextLength = context;
        state.MaskPosition = mask >= 0 ? mask : Math.Max(0, Array.IndexOf(ids, (long)Config.MaskTokenId));
    }
}
