using static TorchSharp.torch;

namespace Service.Inference.Models;

/// <summary>A transformer whose layer loop exposes its hidden states to an intervention (LRP2).</summary>
public interface IHiddenStateModel : IDisposable
{
    int LayerCount { get; }
    int HiddenSize { get; }
    int VocabSize { get; }
    /// <summary>Longest token sequence (special tokens included) the model reads.</summary>
    int MaxSequenceLength { get; }
    Device Device { get; }

    /// <summary>Last hidden state [B, T, H] for token ids [B, T] and attention mask [B, T] (1 = token, 0 = padding).</summary>
    Tensor Encode(Tensor inputIds, Tensor attentionMask, HiddenStateIntervention? intervention = null);
}

/// <summary>An encoder with a masked-LM head (BERT, XLM-R). Calls run on the model host's thread.</summary>
public interface IMaskedLanguageModel : IHiddenStateModel
{
    /// <summary>Vocabulary logits [N, V] for hidden rows [N, H]: the head runs only where it is needed.</summary>
    Tensor PredictTokens(Tensor hiddenRows);

    /// <summary>
    /// Vocabulary logits [N, V] at flat positions (row * T + token) of a padded batch ids [B, T], the
    /// rows' hidden states shifted as <paramref name="shifts"/> says (LRP2): what fill-mask needs
    /// from the model in one call, so that a compiled graph can do all of it.
    /// </summary>
    Tensor PredictAt(Tensor inputIds, Tensor attentionMask, long[] positions, LayerShifts? shifts)
    {
        var hidden = Encode(inputIds, attentionMask, shifts?.AsIntervention(Device)).reshape(-1, HiddenSize); // [B*T, H]
        return PredictTokens(hidden.index_select(0, TorchSharp.torch.tensor(positions, device: Device)));
    }
}
