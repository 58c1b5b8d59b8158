using Service.Inference.Generation;
using static TorchSharp.torch;

namespace Service.Inference.Models;

/// <summary>A decoder-only language model (Llama, Qwen2, ...). Calls run on the model host's thread.</summary>
public interface ICausalLanguageModel : IDisposable
{
    int LayerCount { get; }
    int VocabSize { get; }
    /// <summary>Longest sequence (prompt and reply) the model is configured for.</summary>
    int MaxSequenceLength { get; }
    Device Device { get; }

    /// <summary>A cache for one request, holding up to <paramref name="capacity"/> positions.</summary>
    KvCache NewCache(int capacity);

    /// <summary>Final hidden states [B, T, H] of new tokens [B, T]; positions continue from the cache.</summary>
    Tensor Forward(Tensor inputIds, KvCache cache, HiddenStateIntervention? intervention = null);

    /// <summary>Vocabulary logits [..., V] for hidden states [..., H].</summary>
    Tensor Logits(Tensor hidden);
}
