using Service.Inference.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Service.Inference.Projection;

/// <summary>
/// Computes language vectors: every sentence through the model, per layer the mean over its real
/// tokens (special tokens included, padding excluded), then the mean over sentences. Sentences go
/// in padded batches; padding is masked out of attention and out of the means, so the result equals
/// one-sentence-at-a-time. Sums are kept in float64. Runs on the model host's thread.
/// </summary>
public static class LanguageVectorComputer
{
    public const int DefaultBatchSize = 16;

    public static float[][] Compute(IProbedModel bundle, IReadOnlyList<string> sentences, int batchSize = DefaultBatchSize,
        Action<int, int>? progress = null)
    {
        if (sentences.Count == 0) throw new ArgumentException("at least one sentence is needed", nameof(sentences));
        var model = bundle.Model;
        var encoded = sentences.Select(s => Truncate(bundle.EncodeSentence(s), bundle.MaxSequenceLength)).ToArray();
        using var sums = torch.zeros([model.LayerCount + 1, model.HiddenSize], ScalarType.Float64, model.Device);
        for (int start = 0; start < encoded.Length; start += batchSize)
        {
            using var scope = torch.NewDisposeScope();
            using var mode = torch.inference_mode();
            var batch = encoded.Skip(start).Take(batchSize).ToArray();
            var (ids, attention) = Batches.Pad(batch, bundle.PadId, model.Device);
            var weights = attention.to(ScalarType.Float64).unsqueeze(-1);                     // [B, T, 1]
            var counts = weights.sum(1);                                                      // [B, 1]
            model.Encode(ids, attention, (k, h) =>
            {
                var sentenceMeans = (h.to(ScalarType.Float64) * weights).sum(1) / counts;      // [B, H]
                sums[k].add_(sentenceMeans.sum(dim: 0)); // not sum(0): a literal 0 binds to sum(ScalarType)
                return h;
            });
            progress?.Invoke(Math.Min(start + batchSize, encoded.Length), encoded.Length);
        }
        using var means = (sums / encoded.Length).to(ScalarType.Float32).cpu();
        return Enumerable.Range(0, model.LayerCount + 1).Select(k => means[k].data<float>().ToArray()).ToArray();
    }

    // A corpus line longer than the model reads is cut (keeping the closing special token), not refused.
    static int[] Truncate(int[] ids, int max) => ids.Length <= max ? ids : [.. ids[..(max - 1)], ids[^1]];
}
