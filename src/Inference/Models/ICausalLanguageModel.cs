using Service.Inference.Generation;
using TorchSharp;
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

    /// <summary>Bytes one cached position takes: keys and values of every layer, in the weights' dtype.</summary>
    long KvBytesPerPosition { get; }

    /// <summary>Whether a prompt may run in several forwards (each chunk attending to the ones before it).</summary>
    bool CanChunkPrefill => true;

    /// <summary>A cache for one request, holding up to <paramref name="capacity"/> positions.</summary>
    KvCache NewCache(int capacity);

    /// <summary>Final hidden states [B, T, H] of new tokens [B, T]; positions continue from the cache.</summary>
    Tensor Forward(Tensor inputIds, KvCache cache, HiddenStateIntervention? intervention = null);

    /// <summary>
    /// Final hidden states [B, 1, H] of one new token per sequence [B, 1], row b continuing caches[b].
    /// This default runs the rows one after another; a model that batches them overrides it.
    /// </summary>
    Tensor DecodeBatch(Tensor inputIds, IReadOnlyList<KvCache> caches) =>
        caches.Count == 1
            ? Forward(inputIds, caches[0])
            : torch.cat(caches.Select((cache, i) => Forward(inputIds.narrow(0, i, 1), cache)).ToArray(), 0);

    /// <summary>Vocabulary logits [..., V] for hidden states [..., H].</summary>
    Tensor Logits(Tensor hidden);
}
