using System.Text.Json.Serialization;
using Service.Inference.Checkpoints;

namespace Service.Inference.Models.ChatGlm;

/// <summary>The fields of ChatGLM-6B's config.json (THUDM/chatglm-6b, custom code on the Hub) that the forward pass uses.</summary>
public sealed record ChatGlmConfig
{
    [JsonPropertyName("model_type")] public string ModelType { get; init; } = "chatglm";
    [JsonPropertyName("architectures")] public string[] Architectures { get; init; } = [];
    [JsonPropertyName("vocab_size")] public int VocabSize { get; init; }
    [JsonPropertyName("hidden_size")] public int HiddenSize { get; init; }
    [JsonPropertyName("inner_hidden_size")] public int InnerHiddenSize { get; init; }
    [JsonPropertyName("num_layers")] public int NumLayers { get; init; }
    [JsonPropertyName("num_attention_heads")] public int NumAttentionHeads { get; init; }
    [JsonPropertyName("layernorm_epsilon")] public double LayerNormEpsilon { get; init; } = 1e-5;
    [JsonPropertyName("max_sequence_length")] public int MaxSequenceLength { get; init; } = 2048;
    [JsonPropertyName("position_encoding_2d")] public bool PositionEncoding2D { get; init; } = true;
    [JsonPropertyName("bos_token_id")] public int BosTokenId { get; init; }
    [JsonPropertyName("eos_token_id")] public int EosTokenId { get; init; }
    [JsonPropertyName("mask_token_id")] public int MaskTokenId { get; init; }
    [JsonPropertyName("gmask_token_id")] public int GMaskTokenId { get; init; }
    [JsonPropertyName("pre_seq_len")] public int? PreSeqLen { get; init; }

    public int HeadDim => HiddenSize / NumAttentionHeads;

    public void Validate(string source)
    {
        string? problem =
            VocabSize <= 0 || HiddenSize <= 0 || NumLayers <= 0 || NumAttentionHeads <= 0 || InnerHiddenSize <= 0
                ? "vocab_size, hidden_size, inner_hidden_size, num_layers and num_attention_heads must be positive"
            : HiddenSize % NumAttentionHeads != 0 ? $"hidden_size {HiddenSize} is not a multiple of num_attention_heads {NumAttentionHeads}"
            : HeadDim % 4 != 0 ? $"the head size {HeadDim} is not a multiple of 4, which 2D rotary embeddings need"
            : !PositionEncoding2D ? "position_encoding_2d is false; only ChatGLM-6B's 2D positions are supported"
            : PreSeqLen is > 0 ? "pre_seq_len is set; P-tuning v2 prefixes are not supported"
            : null;
        if (problem is not null) throw new CheckpointException($"{source}: {problem}.");
    }
}
