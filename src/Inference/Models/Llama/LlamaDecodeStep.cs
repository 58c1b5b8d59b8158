using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using System.Runtime.InteropServices;
using Service.Inference.Generation;
using Service.Inference.Models.Decode;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Service.Inference.Models.Llama;

/// <summary>
/// A decode step of a float32 Llama / Qwen2 on the CPU (one new token for each of up to
/// <see cref="DecodeProjection.MaxRows"/> sequences), written out over buffers allocated once. The products go to
/// <see cref="DecodeProjection"/>'s kernel as before; everything between them (RMSNorm, rotary positions, the cache
/// write, attention over the cache, SwiGLU, residuals) runs here instead of as ~40 libtorch operations per layer,
/// each a dispatch and an allocation: on Qwen2-0.5B (idle, `--decode-profile`) the step through the modules took 129 ms
/// at batch 1 and 216 ms at batch 8, this one 108 and 184 ms, which put float32 decode ahead of llama.cpp (it too runs
/// one fixed graph per step). The arithmetic is transformers' in float32 (the
/// committed float64 generation fixtures check it as they check the libtorch path). Prompts, other dtypes, CUDA and
/// interventions keep the modules. One step runs at a time (the model host's thread; a lock guards the buffers).
/// </summary>
internal sealed unsafe class LlamaDecodeStep
{
    sealed record Layer(Parameter InputNorm, Linear Q, Linear K, Linear V, Linear O, Parameter PostNorm, Linear Gate, Linear Up, Linear Down);

    readonly Layer[] _layers;
    readonly Embedding _embeddings;
    readonly Parameter _finalNorm;
    readonly RotaryEmbedding _rotary;
    readonly int _hidden, _heads, _kvHeads, _headDim, _intermediate;
    readonly float _eps;
    // [rows, width] activations of the step, pinned so the kernel reads them by address.
    readonly float[] _x, _normed, _q, _k, _v, _context, _projected, _gate, _up, _cos, _sin;
    // Each row's cache buffers for the layer being run (addresses; set per layer, read by the attention chunks).
    readonly nint[] _cacheKeys = new nint[DecodeProjection.MaxRows], _cacheValues = new nint[DecodeProjection.MaxRows];

    LlamaDecodeStep(LlamaConfig c, IReadOnlyDictionary<string, nn.Module> modules, IReadOnlyDictionary<string, Parameter> parameters)
    {
        _hidden = c.HiddenSize;
        _heads = c.NumAttentionHeads;
        _kvHeads = c.KeyValueHeads;
        _headDim = c.HeadDim;
        _intermediate = c.IntermediateSize;
        _eps = (float)c.RmsNormEps;
        _embeddings = (Embedding)modules["model.embed_tokens"];
        _finalNorm = parameters["model.norm.weight"];
        _rotary = (RotaryEmbedding)modules["model.rotary_emb"];
        _layers = [.. Enumerable.Range(0, c.NumHiddenLayers).Select(i =>
        {
            string p = $"model.layers.{i}.";
            Linear L(string name) => (Linear)modules[p + name];
            return new Layer(parameters[p + "input_layernorm.weight"], L("self_attn.q_proj"), L("self_attn.k_proj"), L("self_attn.v_proj"), L("self_attn.o_proj"),
                parameters[p + "post_attention_layernorm.weight"], L("mlp.gate_proj"), L("mlp.up_proj"), L("mlp.down_proj"));
        })];
        const int rows = DecodeProjection.MaxRows;
        float[] Buffer(int width) => GC.AllocateArray<float>(rows * width, pinned: true);
        (_x, _normed, _projected) = (Buffer(_hidden), Buffer(_hidden), Buffer(_hidden));
        (_q, _context) = (Buffer(_heads * _headDim), Buffer(_heads * _headDim));
        (_k, _v) = (Buffer(_kvHeads * _headDim), Buffer(_kvHeads * _headDim));
        (_gate, _up) = (Buffer(_intermediate), Buffer(_intermediate));
        (_cos, _sin) = (Buffer(_headDim), Buffer(_headDim));
    }

    /// <summary>The written-out step for this model, or null when its weights or dtype keep it on the modules.</summary>
    public static LlamaDecodeStep? TryCreate(LlamaForCausalLM model, ScalarType dtype)
    {
        if (dtype != ScalarType.Float32 || model.Device.type != DeviceType.CPU || model.Config.HiddenAct != "silu") return null;
        var modules = model.named_modules().ToDictionary(m => m.name, m => m.module);
        var parameters = model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        bool kernel = modules.Values.OfType<Linear>().All(l => DecodeProjection.KernelReads(l.weight!))
            && modules.Values.OfType<Embedding>().All(e => DecodeProjection.KernelReads(e.weight!));
        return kernel ? new LlamaDecodeStep(model.Config, modules, parameters) : null;
    }

    /// <summary>Final hidden states [B, 1, H] of one new token per sequence [B, 1], each continuing its cache (which advances by one).</summary>
    public Tensor Run(Tensor inputIds, IReadOnlyList<KvCache> caches)
    {
        int rows = caches.Count;
        if (rows > DecodeProjection.MaxRows || inputIds.shape[0] != rows || inputIds.shape[1] != 1)
            throw new ArgumentException($"The written-out step takes one token for each of at most {DecodeProjection.MaxRows} sequences.", nameof(inputIds));
        foreach (var cache in caches)
            if (cache.Length >= cache.Capacity)
                throw new InvalidOperationException($"The KV cache holds {cache.Capacity} positions; all are used.");
        lock (this)
        {
            var ids = inputIds.data<long>().ToArray();
            fixed (float* x = _x, normed = _normed, projected = _projected)
            {
                for (int r = 0; r < rows; r++) Embed(ids[r], x + r * _hidden);
                Rotary(caches);
                foreach (var (layer, index) in _layers.Select((l, i) => (l, i))) Block(layer, index, caches, x, normed, projected);
                RmsNorm(x, _finalNorm, normed, rows);
                var hidden = torch.empty([rows, 1, _hidden], ScalarType.Float32);
                new ReadOnlySpan<float>(normed, rows * _hidden).CopyTo(MemoryMarshal.Cast<byte, float>(hidden.bytes));
                foreach (var cache in caches) cache.Advance(1);
                return hidden;
            }
        }
    }

    void Block(Layer layer, int index, IReadOnlyList<KvCache> caches, float* x, float* normed, float* projected)
    {
        int rows = caches.Count;
        fixed (float* q = _q, k = _k, v = _v, context = _context, gate = _gate, up = _up)
        {
            RmsNorm(x, layer.InputNorm, normed, rows);
            DecodeProjection.Into(layer.Q, normed, rows, q);
            DecodeProjection.Into(layer.K, normed, rows, k);
            DecodeProjection.Into(layer.V, normed, rows, v);
            var (qRow, kvRow) = (_heads * _headDim, _kvHeads * _headDim);
            var (keys, values) = (_cacheKeys, _cacheValues);
            for (int r = 0; r < rows; r++)
            {
                for (int h = 0; h < _heads; h++) Rotate(q + r * qRow + h * _headDim, r);
                for (int h = 0; h < _kvHeads; h++) Rotate(k + r * kvRow + h * _headDim, r);
                var (cacheKeys, cacheValues) = caches[r].Buffers(index, _kvHeads, _headDim, ScalarType.Float32, torch.CPU);
                keys[r] = (nint)DecodeProjection.Address(cacheKeys);
                values[r] = (nint)DecodeProjection.Address(cacheValues);
                Store(k + r * kvRow, (float*)keys[r], caches[r]);
                Store(v + r * kvRow, (float*)values[r], caches[r]);
            }
            var (qs, ctx) = ((nint)q, (nint)context);
            CoreTeam.Shared.Run(rows * _kvHeads, chunk =>
            {
                int r = chunk / _kvHeads, head = chunk % _kvHeads;
                int groups = _heads / _kvHeads, offset = r * qRow + head * groups * _headDim;
                long rows = (long)head * caches[r].Capacity * _headDim; // the KV head's [capacity, hs] block
                GroupedAttention.Attend((float*)qs + offset, (float*)keys[r] + rows, (float*)values[r] + rows, caches[r].Length + 1, groups, _headDim, (float*)ctx + offset);
            });
            DecodeProjection.Into(layer.O, context, rows, projected);
            Add(x, projected, rows * _hidden);
            RmsNorm(x, layer.PostNorm, normed, rows);
            DecodeProjection.Into(layer.Gate, normed, rows, gate);
            DecodeProjection.Into(layer.Up, normed, rows, up);
            var g = new Span<float>(gate, rows * _intermediate);
            var u = new Span<float>(up, rows * _intermediate);
            // silu(gate) * up = gate * sigmoid(gate) * up
            TensorPrimitives.Multiply(u, g, u);
            TensorPrimitives.Sigmoid(g, g);
            TensorPrimitives.Multiply(g, u, g);
            DecodeProjection.Into(layer.Down, gate, rows, projected);
            Add(x, projected, rows * _hidden);
        }
    }

    /// <summary>The token's embedding row; an int8 matrix's row times its scale, as <see cref="Int8Weights.Embed"/>.</summary>
    void Embed(long id, float* row)
    {
        var weight = _embeddings.weight!;
        if (Int8Weights.Scales(_embeddings, weight) is { } scales)
        {
            sbyte* values = (sbyte*)DecodeProjection.Address(weight) + id * _hidden;
            float scale = ((float*)DecodeProjection.Address(scales))[id];
            for (int i = 0; i < _hidden; i++) row[i] = values[i] * scale;
        }
        else new ReadOnlySpan<float>((float*)DecodeProjection.Address(weight) + id * _hidden, _hidden).CopyTo(new Span<float>(row, _hidden));
    }

    /// <summary>Each row's cos and sin at its own next position, from the model's rotary module (float32 angles, as transformers).</summary>
    void Rotary(IReadOnlyList<KvCache> caches)
    {
        using var scope = torch.NewDisposeScope();
        var positions = torch.tensor(caches.Select(c => (long)c.Length).ToArray());
        var (cos, sin) = _rotary.forward(positions, ScalarType.Float32); // [B, hs]
        MemoryMarshal.Cast<byte, float>(cos.contiguous().bytes).CopyTo(_cos);
        MemoryMarshal.Cast<byte, float>(sin.contiguous().bytes).CopyTo(_sin);
    }

    /// <summary>x * cos + rotate_half(x) * sin for one head of row r, rotate_half(x) = [-x2, x1].</summary>
    void Rotate(float* x, int r)
    {
        int half = _headDim / 2;
        fixed (float* cosRow = &_cos[r * _headDim], sinRow = &_sin[r * _headDim])
            for (int i = 0; i < half; i++)
            {
                float x1 = x[i], x2 = x[i + half];
                x[i] = x1 * cosRow[i] + -x2 * sinRow[i];
                x[i + half] = x2 * cosRow[i + half] + x1 * sinRow[i + half];
            }
    }

    /// <summary>A row's keys or values [kvh, hs] into the cache's buffer [kvh, capacity, hs] at the next position.</summary>
    void Store(float* source, float* buffer, KvCache cache)
    {
        for (int h = 0; h < _kvHeads; h++)
            new ReadOnlySpan<float>(source + h * _headDim, _headDim).CopyTo(new Span<float>(buffer + ((long)h * cache.Capacity + cache.Length) * _headDim, _headDim));
    }

    /// <summary>transformers' RMSNorm per row: x * rsqrt(mean(x^2) + eps), then times the weight, in float32.</summary>
    void RmsNorm(float* x, Parameter weight, float* output, int rows)
    {
        var w = new ReadOnlySpan<float>((float*)DecodeProjection.Address(weight), _hidden);
        for (int r = 0; r < rows; r++)
        {
            var input = new ReadOnlySpan<float>(x + r * _hidden, _hidden);
            var result = new Span<float>(output + r * _hidden, _hidden);
            double squares = 0;
            foreach (float value in input) squares += (double)value * value;
            float inverse = 1f / MathF.Sqrt((float)(squares / _hidden) + _eps);
            TensorPrimitives.Multiply(input, inverse, result);
            TensorPrimitives.Multiply(result, w, result);
        }
    }

    static void Add(float* x, float* y, int length) =>
        TensorPrimitives.Add(new ReadOnlySpan<float>(x, length), new ReadOnlySpan<float>(y, length), new Span<float>(x, length));
}
