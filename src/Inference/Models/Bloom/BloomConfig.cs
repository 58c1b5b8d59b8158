using System.Text.Json.Serialization;

namespace Service.Inference.Models.Bloom;

/// <summary>The fields of a Hugging Face BloomConfig that the forward pass uses.</summary>
public sealed record BloomConfig
{
    [JsonPropertyName("vocab_size")] public int VocabSize { get; init; }
    [JsonPropertyName("hidden_size")] public int HiddenSize { get; init; }
    // Older BLOOM configs name these n_layer / n_head; both spellings occur on the Hub.
    [JsonPropertyName("n_layer")] public int? NLayer { get; init; }
    [JsonPropertyName("num_hidden_layers")] public int? NumHiddenLayers { get; init; }
    [JsonPropertyName("n_head")] public int? NHead { get; init; }
    [JsonPropertyName("num_attention_heads")] public int? NumAttentionHeads { get; init; }
    [JsonPropertyName("layer_norm_epsilon")] public double LayerNormEpsilon { get; init; } = 1e-5;
    [JsonPropertyName("apply_residual_connection_post_layernorm")] public bool ResidualPostLayerNorm { get; init; }
    [JsonPropertyName("pad_token_id")] public int PadTokenId { get; init; } = 3;
    [JsonPropertyName("bos_token_id")] public int BosTokenId { get; init; } = 1;
    [JsonPropertyName("eos_token_id")] public int EosTokenId { get; init; } = 2;
    [JsonPropertyName("seq_length")] public int? SeqLength { get; init; }

    public int Layers => NLayer ?? NumHiddenLayers ?? 0;
    public int Heads => NHead ?? NumAttentionHeads ?? 0;
    public int HeadSize => HiddenSize / Heads;
    /// <summary>ALiBi has no position table; the training length (2048 for bloom-560m) is the useful limit.</summary>
    public int MaxSequenceLength => SeqLength ?? 2048;

    public void Validate(string source)
    {
        string? problem = VocabSize <= 0 || HiddenSize <= 0 || Layers <= 0 || Heads <= 0
                ? "vocab_size, hidden_size, n_layer and n_head must be positive"
            : HiddenSize % Heads != 0 ? $"hidden_size {HiddenSize} is not a multiple of n_head {Heads}"
            : null;
        if (problem is not null) throw new Checkpoints.CheckpointException($"{source}: {problem}.");
    }
}
