using System.Text.Json.Serialization;

namespace Service.Inference.Models.Bert;

/// <summary>The fields of a Hugging Face BertConfig / XLMRobertaConfig that the forward pass uses.</summary>
public sealed record BertConfig
{
    [JsonPropertyName("model_type")] public string ModelType { get; init; } = "bert";
    [JsonPropertyName("architectures")] public string[] Architectures { get; init; } = [];
    [JsonPropertyName("vocab_size")] public int VocabSize { get; init; }
    [JsonPropertyName("hidden_size")] public int HiddenSize { get; init; }
    [JsonPropertyName("num_hidden_layers")] public int NumHiddenLayers { get; init; }
    [JsonPropertyName("num_attention_heads")] public int NumAttentionHeads { get; init; }
    [JsonPropertyName("intermediate_size")] public int IntermediateSize { get; init; }
    [JsonPropertyName("hidden_act")] public string HiddenAct { get; init; } = "gelu";
    [JsonPropertyName("max_position_embeddings")] public int MaxPositionEmbeddings { get; init; } = 512;
    [JsonPropertyName("type_vocab_size")] public int TypeVocabSize { get; init; } = 2;
    [JsonPropertyName("layer_norm_eps")] public double LayerNormEps { get; init; } = 1e-12;
    [JsonPropertyName("pad_token_id")] public int PadTokenId { get; init; }
    [JsonPropertyName("tie_word_embeddings")] public bool TieWordEmbeddings { get; init; } = true;
    [JsonPropertyName("position_embedding_type")] public string PositionEmbeddingType { get; init; } = "absolute";

    /// <summary>XLM-R and RoBERTa count positions from padding_idx + 1 and use `roberta.*`/`lm_head.*` keys.</summary>
    public bool IsRoberta => ModelType is "xlm-roberta" or "roberta"
        || Architectures.Any(a => a.StartsWith("XLMRoberta", StringComparison.Ordinal) || a.StartsWith("Roberta", StringComparison.Ordinal));

    /// <summary>Tokens a sequence can hold: RoBERTa-style models spend padding_idx + 1 position rows on nothing.</summary>
    public int MaxSequenceLength => IsRoberta ? MaxPositionEmbeddings - PadTokenId - 1 : MaxPositionEmbeddings;

    public int HeadSize => HiddenSize / NumAttentionHeads;

    public void Validate(string source)
    {
        string? problem =
            VocabSize <= 0 || HiddenSize <= 0 || NumHiddenLayers <= 0 || NumAttentionHeads <= 0 || IntermediateSize <= 0
                ? "vocab_size, hidden_size, num_hidden_layers, num_attention_heads and intermediate_size must be positive"
            : HiddenSize % NumAttentionHeads != 0 ? $"hidden_size {HiddenSize} is not a multiple of num_attention_heads {NumAttentionHeads}"
            : PositionEmbeddingType != "absolute" ? $"position_embedding_type '{PositionEmbeddingType}' is not supported (only 'absolute')"
            : Activations.IsKnown(HiddenAct) ? null : $"hidden_act '{HiddenAct}' is not supported";
        if (problem is not null) throw new Checkpoints.CheckpointException($"{source}: {problem}.");
    }
}
