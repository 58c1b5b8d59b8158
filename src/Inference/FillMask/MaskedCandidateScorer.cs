using Service.Inference.Models;
using Service.Inference.Projection;
using TorchSharp;
using static TorchSharp.torch;

namespace Service.Inference.FillMask;

/// <summary>A text's token ids with one mask, the candidates (token ids) to rank there, and its projection.</summary>
public sealed record CandidateQuery(int[] InputIds, int MaskPosition, IReadOnlyList<int[]> Candidates, RowProjection? Projection);

/// <summary>
/// Whole-word candidate ranking on a masked LM, as in mLAMA and LRP2: a candidate of n tokens is
/// scored on the text with its one mask widened to n masks, by the average log-probability of its
/// tokens at those masks. One input per distinct n per query; all inputs go through the model in
/// padded chunks. Host thread only.
/// </summary>
public static class MaskedCandidateScorer
{
    const int RowsPerForward = 32;

    /// <summary>Per query, per candidate: the mean log-probability.</summary>
    public static double[][] Score(MaskedLmBundle bundle, IReadOnlyList<CandidateQuery> queries)
    {
        var rows = new List<(int Query, int Length, int[] Ids)>();
        for (int q = 0; q < queries.Count; q++)
            foreach (int n in queries[q].Candidates.Select(c => c.Length).Distinct())
                rows.Add((q, n, Widen(queries[q], n, bundle.Tokenizer.MaskId)));

        var scores = queries.Select(q => new double[q.Candidates.Count]).ToArray();
        foreach (var chunk in rows.Chunk(RowsPerForward))
        {
            using var scope = torch.NewDisposeScope();
            using var mode = torch.inference_mode();
            var logProbabilities = MaskLogProbabilities(bundle, chunk, queries); // per row: [n, V] on the CPU
            long vocabulary = logProbabilities[0].shape[1];
            for (int r = 0; r < chunk.Length; r++)
            {
                var (q, n, _) = chunk[r];
                var candidates = queries[q].Candidates;
                var values = logProbabilities[r].data<float>(); // row-major [n, V], no copy
                for (int c = 0; c < candidates.Count; c++)
                {
                    if (candidates[c].Length != n) continue;
                    double sum = 0;
                    for (int t = 0; t < n; t++) sum += values[t * vocabulary + candidates[c][t]];
                    scores[q][c] = sum / n;
                }
            }
        }
        return scores;
    }

    static int[] Widen(CandidateQuery query, int n, int maskId) =>
        [.. query.InputIds[..query.MaskPosition], .. Enumerable.Repeat(maskId, n), .. query.InputIds[(query.MaskPosition + 1)..]];

    static Tensor[] MaskLogProbabilities(MaskedLmBundle bundle, (int Query, int Length, int[] Ids)[] chunk, IReadOnlyList<CandidateQuery> queries)
    {
        var model = bundle.Model;
        var (ids, attention) = Batches.Pad([.. chunk.Select(r => r.Ids)], bundle.Tokenizer.PadId, model.Device);
        long width = ids.shape[1];
        var shifts = Lrp2Intervention.Shifts([.. chunk.Select(r => queries[r.Query].Projection)]);
        var positions = chunk.SelectMany((r, b) => Enumerable.Range(queries[r.Query].MaskPosition, r.Length).Select(p => b * width + (long)p)).ToArray();
        var logits = model.PredictAt(ids, attention, positions, shifts); // [N, V]
        var logProbabilities = logits.to(ScalarType.Float32).log_softmax(-1).cpu();
        return [.. logProbabilities.split(chunk.Select(r => (long)r.Length).ToArray()).Select(part => part.contiguous())];
    }
}
