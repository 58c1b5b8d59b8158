using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Service.Inference.Checkpoints;
using Service.Inference.Models.Llama;
using TorchSharp;
using static TorchSharp.torch;

namespace Service.Benchmarks.Peers;

/// <summary>
/// Writes the benchmark's Qwen2 checkpoint (model.safetensors + tokenizer.json) as a GGUF file for
/// llama.cpp, with the keys and tensor names llama.cpp's convert_hf_to_gguf.py writes for the qwen2
/// architecture: GGUF version 3, key/value metadata, tensor infos (dimensions innermost first), data
/// aligned to 32 bytes. Same values as the service loads: float32, or bfloat16/float16 rounded as torch's
/// `to(bfloat16)`/`to(float16)` round (1-D tensors, the norms and biases, stay float32 as the converter keeps them).
/// </summary>
public static class QwenGguf
{
    const uint Magic = 0x46554747; // "GGUF" read as a little-endian uint32
    const int Alignment = 32;
    enum ValueType : uint { UInt32 = 4, Int32 = 5, Float32 = 6, Bool = 7, String = 8, Array = 9 }
    enum TensorType : uint { F32 = 0, F16 = 1, Q8_0 = 8, BF16 = 30 }
    /// <summary>Q8_0: blocks of 32 weights along a row, each a float16 scale and 32 signed bytes (llama.cpp's block_q8_0).</summary>
    const int Q8Block = 32, Q8BlockBytes = 2 + Q8Block;
    // llama.cpp's token types (llama_token_type): normal, control (special), unused (padding rows).
    const int Normal = 1, Control = 3, Unused = 5;

    /// <param name="q8_0">Matrices in llama.cpp's Q8_0 (the 8-bit peer of Models:Chat:Weights=int8); norms and biases float32.</param>
    public static long Write(string checkpointDirectory, LlamaConfig c, ScalarType dtype, string path, bool q8_0 = false)
    {
        var weights = SafeTensorsFile.Open(Path.Combine(checkpointDirectory, "model.safetensors"));
        var (tokens, types, merges) = Vocabulary(Path.Combine(checkpointDirectory, "tokenizer.json"), c.VocabSize);
        using var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(checkpointDirectory, "config.json")));
        int eos = config.RootElement.GetProperty("eos_token_id").GetInt32(), bos = config.RootElement.GetProperty("bos_token_id").GetInt32();

        var tensors = new List<(string Gguf, string Hf)> { ("token_embd.weight", "model.embed_tokens.weight") };
        for (int i = 0; i < c.NumHiddenLayers; i++)
        {
            string b = $"blk.{i}.", h = $"model.layers.{i}.";
            tensors.Add((b + "attn_norm.weight", h + "input_layernorm.weight"));
            foreach (var (g, n) in new[] { ("attn_q", "q_proj"), ("attn_k", "k_proj"), ("attn_v", "v_proj") })
            {
                tensors.Add((b + g + ".weight", h + "self_attn." + n + ".weight"));
                if (c.QkvBias) tensors.Add((b + g + ".bias", h + "self_attn." + n + ".bias"));
            }
            tensors.Add((b + "attn_output.weight", h + "self_attn.o_proj.weight"));
            tensors.Add((b + "ffn_norm.weight", h + "post_attention_layernorm.weight"));
            tensors.Add((b + "ffn_gate.weight", h + "mlp.gate_proj.weight"));
            tensors.Add((b + "ffn_up.weight", h + "mlp.up_proj.weight"));
            tensors.Add((b + "ffn_down.weight", h + "mlp.down_proj.weight"));
        }
        tensors.Add(("output_norm.weight", "model.norm.weight"));
        if (!c.TieWordEmbeddings) tensors.Add(("output.weight", "lm_head.weight")); // tied: llama.cpp reuses token_embd

        using var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
        using var w = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
        var kv = new List<Action>();
        void Key(string key, ValueType type, Action value) => kv.Add(() => { Str(w, key); w.Write((uint)type); value(); });
        void U32(string key, uint v) => Key(key, ValueType.UInt32, () => w.Write(v));
        void F32(string key, float v) => Key(key, ValueType.Float32, () => w.Write(v));
        void Text(string key, string v) => Key(key, ValueType.String, () => Str(w, v));
        Text("general.architecture", "qwen2");
        Text("general.name", "benchmark-random-qwen2");
        U32("general.file_type", q8_0 ? 7u : dtype == ScalarType.BFloat16 ? 32u : dtype == ScalarType.Float16 ? 1u : 0u); // LLAMA_FTYPE_MOSTLY_Q8_0 / MOSTLY_BF16 / MOSTLY_F16 / ALL_F32
        U32("general.alignment", Alignment);
        U32("qwen2.block_count", (uint)c.NumHiddenLayers);
        U32("qwen2.context_length", (uint)c.MaxPositionEmbeddings);
        U32("qwen2.embedding_length", (uint)c.HiddenSize);
        U32("qwen2.feed_forward_length", (uint)c.IntermediateSize);
        U32("qwen2.attention.head_count", (uint)c.NumAttentionHeads);
        U32("qwen2.attention.head_count_kv", (uint)c.KeyValueHeads);
        F32("qwen2.rope.freq_base", (float)c.RopeTheta);
        F32("qwen2.attention.layer_norm_rms_epsilon", (float)c.RmsNormEps);
        Text("tokenizer.ggml.model", "gpt2");
        Text("tokenizer.ggml.pre", "qwen2");
        Key("tokenizer.ggml.tokens", ValueType.Array, () => { w.Write((uint)ValueType.String); w.Write((ulong)tokens.Count); foreach (var t in tokens) Str(w, t); });
        Key("tokenizer.ggml.token_type", ValueType.Array, () => { w.Write((uint)ValueType.Int32); w.Write((ulong)types.Count); foreach (var t in types) w.Write(t); });
        Key("tokenizer.ggml.merges", ValueType.Array, () => { w.Write((uint)ValueType.String); w.Write((ulong)merges.Count); foreach (var m in merges) Str(w, m); });
        U32("tokenizer.ggml.eos_token_id", (uint)eos);
        U32("tokenizer.ggml.bos_token_id", (uint)bos);
        U32("tokenizer.ggml.padding_token_id", (uint)bos);
        Key("tokenizer.ggml.add_bos_token", ValueType.Bool, () => w.Write((byte)0));

        w.Write(Magic);
        w.Write(3u);
        w.Write((ulong)tensors.Count);
        w.Write((ulong)kv.Count);
        foreach (var write in kv) write();

        TensorType TypeOf(SafeTensorEntry e) => e.Shape.Length == 1 ? TensorType.F32 : q8_0 ? TensorType.Q8_0 : dtype == ScalarType.Float32 ? TensorType.F32 : dtype == ScalarType.BFloat16 ? TensorType.BF16 : TensorType.F16;
        long offset = 0;
        foreach (var (gguf, hf) in tensors)
        {
            var e = weights.Entries[hf];
            Str(w, gguf);
            w.Write((uint)e.Shape.Length);
            foreach (var d in e.Shape.Reverse()) w.Write((ulong)d); // GGUF lists the innermost (contiguous) dimension first
            var type = TypeOf(e);
            w.Write((uint)type);
            w.Write((ulong)offset);
            long elements = e.Shape.Aggregate(1L, (a, b) => a * b);
            offset = Align(offset + (type == TensorType.Q8_0 ? elements / Q8Block * Q8BlockBytes : elements * (type == TensorType.F32 ? 4 : 2)));
        }
        w.Flush();
        Pad(stream);
        long dataStart = stream.Position;
        foreach (var (_, hf) in tensors)
        {
            using var scope = torch.NewDisposeScope();
            var e = weights.Entries[hf];
            var t = weights.Read(hf);
            if (TypeOf(e) == TensorType.Q8_0)
            {
                WriteQ8_0(stream, t);
                Pad(stream);
                continue;
            }
            if (TypeOf(e) == TensorType.BF16) t = t.to(ScalarType.BFloat16);
            else if (TypeOf(e) == TensorType.F16) t = t.to(ScalarType.Float16);
            t.contiguous().WriteBytesToStream(stream, 1 << 20);
            Pad(stream);
        }
        if (stream.Position - dataStart != offset) throw new InvalidOperationException($"GGUF data is {stream.Position - dataStart} bytes, the tensor infos promised {offset}.");
        return stream.Position;
    }

    /// <summary>
    /// llama.cpp's quantize_row_q8_0_ref: per block of 32, d = max |x| / 127 (stored as float16), q = round(x / d).
    /// The service's int8 weights use one scale per row instead (see Int8Weights): the two 8-bit models differ slightly.
    /// </summary>
    static void WriteQ8_0(Stream stream, Tensor weight)
    {
        if (weight.shape[^1] % Q8Block != 0) throw new InvalidOperationException($"Q8_0 needs rows of a multiple of {Q8Block} weights; this matrix has {weight.shape[^1]}.");
        var blocks = weight.to(ScalarType.Float32).reshape(-1, Q8Block);
        var d = blocks.abs().amax([1]) / 127;
        var inverse = torch.where(d > 0, 1 / d, torch.zeros_like(d));
        var q = (blocks * inverse.unsqueeze(1)).round().to(ScalarType.Int8).data<sbyte>().ToArray();
        var scales = d.to(ScalarType.Float16).data<Half>().ToArray();
        var bytes = new byte[scales.Length * Q8BlockBytes];
        for (int b = 0; b < scales.Length; b++)
        {
            BitConverter.TryWriteBytes(bytes.AsSpan(b * Q8BlockBytes, 2), scales[b]);
            MemoryMarshal.AsBytes(q.AsSpan(b * Q8Block, Q8Block)).CopyTo(bytes.AsSpan(b * Q8BlockBytes + 2));
        }
        stream.Write(bytes);
    }

    static long Align(long n) => (n + Alignment - 1) / Alignment * Alignment;

    static void Pad(Stream s)
    {
        long pad = Align(s.Position) - s.Position;
        for (long i = 0; i < pad; i++) s.WriteByte(0);
    }

    static void Str(BinaryWriter w, string s)
    {
        var bytes = Encoding.UTF8.GetBytes(s);
        w.Write((ulong)bytes.Length);
        w.Write(bytes);
    }

    /// <summary>Token strings by id (byte-level characters, as tokenizer.json holds them), padded to vocab_size with [PAD{id}] as the converter pads.</summary>
    static (List<string> Tokens, List<int> Types, List<string> Merges) Vocabulary(string tokenizerJson, int vocabSize)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(tokenizerJson));
        var model = doc.RootElement.GetProperty("model");
        var byId = new Dictionary<int, string>();
        foreach (var p in model.GetProperty("vocab").EnumerateObject()) byId[p.Value.GetInt32()] = p.Name;
        var special = new HashSet<int>();
        foreach (var a in doc.RootElement.GetProperty("added_tokens").EnumerateArray())
        {
            byId[a.GetProperty("id").GetInt32()] = a.GetProperty("content").GetString()!;
            special.Add(a.GetProperty("id").GetInt32());
        }
        var tokens = new List<string>(vocabSize);
        var types = new List<int>(vocabSize);
        for (int i = 0; i < vocabSize; i++)
        {
            bool known = byId.TryGetValue(i, out var token);
            tokens.Add(known ? token! : $"[PAD{i}]");
            types.Add(!known ? Unused : special.Contains(i) ? Control : Normal);
        }
        var merges = model.GetProperty("merges").EnumerateArray().Select(m => m.GetString()!).ToList();
        return (tokens, types, merges);
    }
}
