using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using System.Runtime.InteropServices;
using Service.Inference.Generation;
using Service.Inference.Models.Decode;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Service.Inference.Models.Llama;

/// <summary>
/// A decode step of a Llama / Qwen2 on the CPU (one new token for each of up to
/// <see cref="DecodeProjection.MaxRows"/> sequences), written out over buffers allocated once. The products go to
/// <see cref="DecodeProjection"/>'s kernel as before; everything between them (RMSNorm, rotary positions, the cache
/// write, attention over the cache, SwiGLU, residuals) runs here instead of as ~40 libtorch operations per layer,
/// each a dispatch and an allocation: on Qwen2-0.5B (idle, `--decode-profile`) the step through the modules took 129 ms
/// at batch 1 and 216 ms at batch 8, this one 108 and 184 ms, which put float32 decode ahead of llama.cpp (it too runs
/// one fixed graph per step). The arithmetic is transformers' in float32 (the
/// committed float64 generation fixtures check it as they check the libtorch path). A bfloat16 or float16 model runs the
/// same float32 arithmetic over its weights in their dtype (widened exactly as they are read) and keeps its KV cache in
/// its dtype (each new key and value rounded to nearest even once), as its modules do on the CPU
/// (<see cref="LlamaModel.ActivationType"/>); its hidden states are float32. Prompts, CUDA and interventions keep the
/// modules. One step runs at a time (the model host's thread; a lock guards the buffers).
/// </summary>
internal sealed unsafe class LlamaDecodeStep
{
    sealed record Layer(Tensor InputNorm, Projection Q, Projection K, Projection V, Projection O, Tensor PostNorm, Projection Gate, Projection Up, Projection Down);

    /// <summary>A projection with its bias in float32 (for a half-precision model a copy, made once).</summary>
    sealed record Projection(Linear Module, Tensor? Bias)
    {
        public static Projection Of(Linear module) => new(module, Float32(module.bias));
        public void Run(float* x, int rows, float* y) => DecodeProjection.Into(Module, Bias, x, rows, y);
    }

    readonly Layer[] _layers;
    readonly Embedding _embeddings;
    readonly Tensor _finalNorm;
    readonly ScalarType _dtype; // of the weights (float32 for int8 matrices) and the KV cache
    readonly RotaryEmbedding _rotary;
    readonly int _hidden, _heads, _kvHeads, _headDim, _intermediate;
    readonly float _eps;
    // [rows, width] activations of the step, pinned so the kernel reads them by address.
    readonly float[] _x, _normed, _q, _k, _v, _context, _projected, _gate, _up, _cos, _sin;
    // Each row's cache buffers for the layer being run (addresses; set per layer, read by the attention chunks).
    readonly nint[] _cacheKeys = new nint[DecodeProjection.MaxRows], _cacheValues = new nint[DecodeProjection.MaxRows];

    LlamaDecodeStep(LlamaConfig c, ScalarType dtype, IReadOnlyDictionary<string, nn.Module> modules, IReadOnlyDictionary<string, Parameter> parameters)
    {
        _dtype = dtype;
        _hidden = c.HiddenSize;
        _heads = c.NumAttentionHeads;
        _kvHeads = c.KeyValueHeads;
        _headDim = c.HeadDim;
        _intermediate = c.IntermediateSize;
        _eps = (float)c.RmsNormEps;
        _embeddings = (Embedding)modules["model.embed_tokens"];
        _finalNorm = Float32(parameters["model.norm.weight"])!;
        _rotary = (RotaryEmbedding)modules["model.rotary_emb"];
        _layers = [.. Enumerable.Range(0, c.NumHiddenLayers).Select(i =>
        {
            string p = $"model.layers.{i}.";
            Projection L(string name) => Projection.Of((Linear)modules[p + name]);
            return new Layer(Float32(parameters[p + "input_layernorm.weight"])!, L("self_attn.q_proj"), L("self_attn.k_proj"), L("self_attn.v_proj"), L("self_attn.o_proj"),
                Float32(parameters[p + "post_attention_layernorm.weight"])!, L("mlp.gate_proj"), L("mlp.up_proj"), L("mlp.down_proj"));
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
        if (dtype is not (ScalarType.Float32 or ScalarType.BFloat16 or ScalarType.Float16) || model.Device.type != DeviceType.CPU || model.Config.HiddenAct != "silu") return null;
        var modules = model.named_modules().ToDictionary(m => m.name, m => m.module);
        var parameters = model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        bool kernel = modules.Values.OfType<Linear>().All(l => DecodeProjection.KernelReads(l.weight!))
            && modules.Values.OfType<Embedding>().All(e => DecodeProjection.KernelReads(e.weight!));
        return kernel ? new LlamaDecodeStep(model.Config, dtype, modules, parameters) : null;
    }

    /// <summary>A float32 vector kept by the step: the parameter itself, or its float32 copy (outside any dispose scope).</summary>
    static Tensor? Float32(Tensor? parameter) =>
        parameter is null || parameter.dtype == ScalarType.Float32 ? parameter : parameter.to(ScalarType.Float32).contiguous().DetachFromDisposeScope();

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
            layer.Q.Run(normed, rows, q);
            layer.K.Run(normed, rows, k);
            layer.V.Run(normed, rows, v);
            var (qRow, kvRow) = (_heads * _headDim, _kvHeads * _headDim);
            var (keys, values) = (_cacheKeys, _cacheValues);
            for (int r = 0; r < rows; r++)
            {
                for (int h = 0; h < _heads; h++) Rotate(q + r * qRow + h * _headDim, r);
                for (int h = 0; h < _kvHeads; h++) Rotate(k + r * kvRow + h * _headDim, r);
                var (cacheKeys, cacheValues) = caches[r].Buffers(index, _kvHeads, _headDim, _dtype, torch.CPU);
                keys[r] = (nint)DecodeProjection.Address(cacheKeys);
                values[r] = (nint)DecodeProjection.Address(cacheValues);
                Store(k + r * kvRow, keys[r], caches[r]);
                Store(v + r * kvRow, values[r], caches[r]);
            }
            var (qs, ctx) = ((nint)q, (nint)context);
            CoreTeam.Shared.Run(rows * _kvHeads, chunk =>
            {
                int r = chunk / _kvHeads, head = chunk % _kvHeads;
                int groups = _heads / _kvHeads, offset = r * qRow + head * groups * _headDim, positions = caches[r].Length + 1;
                long first = (long)head * caches[r].Capacity * _headDim; // the KV head's [capacity, hs] block
                float* query = (float*)qs + offset, output = (float*)ctx + offset;
                switch (_dtype)
                {
                    case ScalarType.BFloat16:
                        GroupedAttention.Attend<BFloat16Loader, ushort>(query, (ushort*)keys[r] + first, (ushort*)values[r] + first, positions, groups, _headDim, output); break;
                    case ScalarType.Float16:
                        GroupedAttention.Attend<Float16Loader, ushort>(query, (ushort*)keys[r] + first, (ushort*)values[r] + first, positions, groups, _headDim, output); break;
                    default:
                        GroupedAttention.Attend<Float32Loader, float>(query, (float*)keys[r] + first, (float*)values[r] + first, positions, groups, _headDim, output); break;
                }
            });
            layer.O.Run(context, rows, projected);
            Add(x, projected, rows * _hidden);
            RmsNorm(x, layer.PostNorm, normed, rows);
            layer.Gate.Run(normed, rows, gate);
            layer.Up.Run(normed, rows, up);
            var g = new Span<float>(gate, rows * _intermediate);
            var u = new Span<float>(up, rows * _intermediate);
            // silu(gate) * up = gate * sigmoid(gate) * up
            TensorPrimitives.Multiply(u, g, u);
            TensorPrimitives.Sigmoid(g, g);
            TensorPrimitives.Multiply(g, u, g);
            layer.Down.Run(gate, rows, projected);
            Add(x, projected, rows * _hidden);
        }
    }

    /// <summary>The token's embedding row in float32: an int8 matrix's row times its scale (as <see cref="Int8Weights.Embed"/>), a half-precision one widened.</summary>
    void Embed(long id, float* row)
    {
        var weight = _embeddings.weight!;
        void* start = (byte*)DecodeProjection.Address(weight) + id * _hidden * weight.ElementSize;
        if (Int8Weights.Scales(_embeddings, weight) is { } scales)
        {
            float scale = ((float*)DecodeProjection.Address(scales))[id];
            for (int i = 0; i < _hidden; i++) row[i] = ((sbyte*)start)[i] * scale;
        }
        else if (_dtype == ScalarType.BFloat16) for (int i = 0; i < _hidden; i++) row[i] = BFloat16Loader.Load1((ushort*)start + i);
        else if (_dtype == ScalarType.Float16) for (int i = 0; i < _hidden; i++) row[i] = (float)BitConverter.UInt16BitsToHalf(((ushort*)start)[i]);
        else new ReadOnlySpan<float>((float*)start, _hidden).CopyTo(new Span<float>(row, _hidden));
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

    /// <summary>A row's keys or values [kvh, hs] into the cache's buffer [kvh, capacity, hs] at the next position, in the cache's dtype.</summary>
    void Store(float* source, nint buffer, KvCache cache)
    {
        for (int h = 0; h < _kvHeads; h++)
        {
            var from = new ReadOnlySpan<float>(source + h * _headDim, _headDim);
            long at = ((long)h * cache.Capacity + cache.Length) * _headDim;
            switch (_dtype)
            {
                case ScalarType.BFloat16: for (int i = 0; i < _headDim; i++) ((ushort*)buffer)[at + i] = ToBFloat16(from[i]); break;
                case ScalarType.Float16: for (int i = 0; i < _headDim; i++) ((Half*)buffer)[at + i] = (Half)from[i]; break;
                default: from.CopyTo(new Span<float>((float*)buffer + at, _headDim)); break;
            }
        }
    }

    /// <summary>float32 to bfloat16, to nearest with ties to even (libtorch's rounding); NaN stays NaN.</summary>
    static ushort ToBFloat16(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        if (float.IsNaN(value)) return (ushort)((bits >> 16) | 0x40);
        return (ushort)((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16);
    }

    /// <summary>transformers' RMSNorm per row: x * rsqrt(mean(x^2) + eps), then times the weight, in float32.</summary>
    void RmsNorm(float* x, Tensor weight, float* output, int rows)
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
