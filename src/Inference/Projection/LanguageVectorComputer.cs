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
        var run = new LanguageVectorRun(bundle, sentences, batchSize);
        while (run.Step()) progress?.Invoke(run.Done, run.Total);
        progress?.Invoke(run.Done, run.Total);
        return run.Result();
    }
}

/// <summary>
/// One computation of language vectors, a batch per <see cref="Step"/>, so that the host can run
/// other requests between batches. The running sums are managed float64 arrays, not tensors: no
/// tensor outlives a step's dispose scope. Host thread only.
/// </summary>
public sealed class LanguageVectorRun
{
    readonly IProbedModel _bundle;
    readonly IReadOnlyList<string> _sentences;
    readonly int _batchSize;
    readonly double[][] _sums;

    public LanguageVectorRun(IProbedModel bundle, IReadOnlyList<string> sentences, int batchSize = LanguageVectorComputer.DefaultBatchSize)
    {
        if (sentences.Count == 0) throw new ArgumentException("at least one sentence is needed", nameof(sentences));
        _bundle = bundle;
        _sentences = sentences;
        _batchSize = Math.Max(1, batchSize);
        _sums = [.. Enumerable.Range(0, bundle.Model.LayerCount + 1).Select(_ => new double[bundle.Model.HiddenSize])];
    }

    public int Done { get; private set; }
    public int Total => _sentences.Count;
    public bool Finished => Done == Total;

    /// <summary>Runs the next batch; true while batches remain.</summary>
    public bool Step()
    {
        if (Finished) return false;
        var model = _bundle.Model;
        int count = Math.Min(_batchSize, Total - Done);
        var batch = Enumerable.Range(Done, count).Select(i => Truncate(_bundle.EncodeSentence(_sentences[i]), _bundle.MaxSequenceLength)).ToArray();
        using (var scope = torch.NewDisposeScope())
        using (var mode = torch.inference_mode())
        {
            var (ids, attention) = Batches.Pad(batch, _bundle.PadId, model.Device);
            var weights = attention.to(ScalarType.Float64).unsqueeze(-1);                     // [B, T, 1]
            var counts = weights.sum(1);                                                      // [B, 1]
            var layerSums = new Tensor[model.LayerCount + 1];
            model.Encode(ids, attention, (k, h) =>
            {
                var sentenceMeans = (h.to(ScalarType.Float64) * weights).sum(1) / counts;      // [B, H]
                layerSums[k] = sentenceMeans.sum(dim: 0); // not sum(0): a literal 0 binds to sum(ScalarType)
                return h;
            });
            using var all = torch.stack(layerSums).cpu();                                     // [L+1, H]
            var values = all.data<double>().ToArray();
            int hidden = model.HiddenSize;
            for (int k = 0; k < _sums.Length; k++)
                for (int d = 0; d < hidden; d++)
                    _sums[k][d] += values[k * hidden + d];
        }
        Done += count;
        return !Finished;
    }

    /// <summary>The means over all sentences, as float32 per layer.</summary>
    public float[][] Result()
    {
        if (!Finished) throw new InvalidOperationException("the run has batches left");
        return [.. _sums.Select(layer => layer.Select(sum => (float)(sum / Total)).ToArray())];
    }

    // A corpus line longer than the model reads is cut (keeping the closing special token), not refused.
    static int[] Truncate(int[] ids, int max) => ids.Length <= max ? ids : [.. ids[..(max - 1)], ids[^1]];
}
