using System.Text.Json;
using System.Text.Json.Serialization;
using Service.Inference.Checkpoints;

namespace Service.Inference.Models.Llama;

/// <summary>The fields of a Hugging Face LlamaConfig / Qwen2Config that the forward pass uses.</summary>
public sealed record LlamaConfig
{
    [JsonPropertyName("model_type")] public string ModelType { get; init; } = "llama";
    [JsonPropertyName("architectures")] public string[] Architectures { get; init; } = [];
    [JsonPropertyName("vocab_size")] public int VocabSize { get; init; }
    [JsonPropertyName("hidden_size")] public int HiddenSize { get; init; }
    [JsonPropertyName("intermediate_size")] public int IntermediateSize { get; init; }
    [JsonPropertyName("num_hidden_layers")] public int NumHiddenLayers { get; init; }
    [JsonPropertyName("num_attention_heads")] public int NumAttentionHeads { get; init; }
    /// <summary>Grouped-query attention: fewer key/value heads than query heads (absent = as many).</summary>
    [JsonPropertyName("num_key_value_heads")] public int? NumKeyValueHeads { get; init; }
    [JsonPropertyName("head_dim")] public int? HeadDimOverride { get; init; }
    [JsonPropertyName("hidden_act")] public string HiddenAct { get; init; } = "silu";
    [JsonPropertyName("rms_norm_eps")] public double RmsNormEps { get; init; } = 1e-6;
    [JsonPropertyName("rope_theta")] public double RopeTheta { get; init; } = 10000;
    [JsonPropertyName("rope_scaling")] public RopeScaling? RopeScaling { get; init; }
    [JsonPropertyName("max_position_embeddings")] public int MaxPositionEmbeddings { get; init; } = 2048;
    [JsonPropertyName("tie_word_embeddings")] public bool TieWordEmbeddings { get; init; }
    /// <summary>Llama's switch for q/k/v/o biases; Qwen2 has q/k/v biases and no such key.</summary>
    [JsonPropertyName("attention_bias")] public bool? AttentionBias { get; init; }
    [JsonPropertyName("mlp_bias")] public bool MlpBias { get; init; }
    [JsonPropertyName("use_sliding_window")] public bool UseSlidingWindow { get; init; }
    [JsonPropertyName("bos_token_id")] public JsonElement? BosTokenId { get; init; }
    /// <summary>One id or a list (Llama 3.1 Instruct ends turns with several).</summary>
    [JsonPropertyName("eos_token_id")] public JsonElement? EosTokenId { get; init; }

    public bool IsQwen2 => ModelType == "qwen2" || Architectures.Contains("Qwen2ForCausalLM");
    public int KeyValueHeads => NumKeyValueHeads ?? NumAttentionHeads;
    public int HeadDim => HeadDimOverride ?? HiddenSize / NumAttentionHeads;
    /// <summary>Bytes one cached position takes: keys and values of every layer, at the given element size.</summary>
    public long KvBytesPerPosition(long bytesPerElement) => 2L * NumHiddenLayers * KeyValueHeads * HeadDim * bytesPerElement;
    /// <summary>Qwen2 always has q/k/v biases (and none on o_proj); Llama only when attention_bias is set.</summary>
    public bool QkvBias => AttentionBias ?? IsQwen2;
    public bool OutputBias => !IsQwen2 && AttentionBias == true;

    public int[] EosTokenIds => TokenIds(EosTokenId);

    public static int[] TokenIds(JsonElement? value) => value switch
    {
        { ValueKind: JsonValueKind.Number } v => [v.GetInt32()],
        { ValueKind: JsonValueKind.Array } v => [.. v.EnumerateArray().Where(e => e.ValueKind == JsonValueKind.Number).Select(e => e.GetInt32())],
        _ => [],
    };

    public void Validate(string source)
    {
        string? problem =
            VocabSize <= 0 || HiddenSize <= 0 || NumHiddenLayers <= 0 || NumAttentionHeads <= 0 || IntermediateSize <= 0
                ? "vocab_size, hidden_size, intermediate_size, num_hidden_layers and num_attention_heads must be positive"
            : HeadDimOverride is null && HiddenSize % NumAttentionHeads != 0 ? $"hidden_size {HiddenSize} is not a multiple of num_attention_heads {NumAttentionHeads}"
            : NumAttentionHeads % KeyValueHeads != 0 ? $"num_attention_heads {NumAttentionHeads} is not a multiple of num_key_value_heads {KeyValueHeads}"
            : HeadDim % 2 != 0 ? $"the head size {HeadDim} is odd; rotary embeddings need it even"
            : HiddenAct != "silu" ? $"hidden_act '{HiddenAct}' is not supported (only silu)"
            : UseSlidingWindow ? "use_sliding_window is true; sliding-window attention is not supported"
            : RopeScaling is { } s && s.Type is not ("default" or "llama3") ? $"rope_scaling type '{s.Type}' is not supported (default, llama3)"
            : null;
        if (problem is not null) throw new CheckpointException($"{source}: {problem}.");
    }
}

/// <summary>`rope_scaling`: only Llama 3's frequency-dependent scaling is implemented.</summary>
public sealed record RopeScaling
{
    [JsonPropertyName("rope_type")] public string? RopeType { get; init; }
    /// <summary>The older spelling of rope_type.</summary>
    [JsonPropertyName("type")] public string? LegacyType { get; init; }
    [JsonPropertyName("factor")] public double Factor { get; init; } = 8;
    [JsonPropertyName("low_freq_factor")] public double LowFreqFactor { get; init; } = 1;
    [JsonPropertyName("high_freq_factor")] public double HighFreqFactor { get; init; } = 4;
    [JsonPropertyName("original_max_position_embeddings")] public int OriginalMaxPositionEmbeddings { get; init; } = 8192;

    public string Type => RopeType ?? LegacyType ?? "default";
}
