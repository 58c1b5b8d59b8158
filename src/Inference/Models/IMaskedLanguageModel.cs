using static TorchSharp.torch;

namespace Service.Inference.Models;

/// <summary>An encoder with a masked-LM head (BERT, XLM-R). Calls run on the model host's thread.</summary>
public interface IMaskedLanguageModel : IDisposable
{
    int LayerCount { get; }
    int HiddenSize { get; }
    int VocabSize { get; }
    /// <summary>Longest token sequence (special tokens included) the position table allows.</summary>
    int MaxSequenceLength { get; }
    Device Device { get; }

    /// <summary>Last hidden state [B, T, H] for token ids [B, T] and attention mask [B, T] (1 = token, 0 = padding).</summary>
    Tensor Encode(Tensor inputIds, Tensor attentionMask, HiddenStateIntervention? intervention = null);

    /// <summary>Vocabulary logits [N, V] for hidden rows [N, H]: the head runs only where it is needed.</summary>
    Tensor PredictTokens(Tensor hiddenRows);
}
