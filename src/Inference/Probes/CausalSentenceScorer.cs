using Service.Inference.Models;
using Service.Inference.Models.Bloom;
using Service.Inference.Projection;
using TorchSharp;
using static TorchSharp.torch;

namespace Service.Inference.Probes;

/// <summary>A sentence to score and the projection of the query it belongs to.</summary>
public sealed record ScoredSentence(int[] Ids, RowProjection? Projection);

/// <summary>
/// Decoder candidate scoring, as LRP2 does for BLOOM: each candidate is filled into the template and
/// the sentence scores its log-likelihood, the sum over tokens t >= 1 of log p(x_t | x_&lt;t) (the
/// first token has no context: BLOOM adds no BOS). Sentences go right-padded in chunks. Host thread only.
/// </summary>
public static class CausalSentenceScorer
{
    const int RowsPerForward = 32;

    public static double[] Score(BloomBundle bundle, IReadOnlyList<ScoredSentence> sentences)
    {
        var scores = new double[sentences.Count];
        int offset = 0;
        foreach (var chunk in sentences.Chunk(RowsPerForward))
        {
            using var scope = torch.NewDisposeScope();
            using var mode = torch.inference_mode();
            var model = bundle.Model;
            var (ids, attention) = Batches.Pad([.. chunk.Select(s => s.Ids)], bundle.PadId, model.Device);
            var intervention = Lrp2Intervention.Create([.. chunk.Select(s => s.Projection)], model.Device);
            var logProbabilities = model.Logits(model.Encode(ids, attention, intervention)).to(ScalarType.Float32).log_softmax(-1); // [B, T, V]
            // log p of each next token: position t - 1 predicts token t.
            var next = logProbabilities[.., ..^1].gather(-1, ids[.., 1..].unsqueeze(-1)).squeeze(-1);                          // [B, T-1]
            var sums = (next * attention[.., 1..].to(ScalarType.Float32)).sum(1, type: ScalarType.Float64).cpu().data<double>().ToArray();
            sums.CopyTo(scores, offset);
            offset += chunk.Length;
        }
        return scores;
    }
}
