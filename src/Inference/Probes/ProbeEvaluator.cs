using Service.Inference.FillMask;
using Service.Inference.Hosting;
using Service.Inference.Models;
using Service.Inference.Models.Bloom;
using Service.Inference.Projection;

namespace Service.Inference.Probes;

/// <summary>
/// A fact tokenized for the model: for a masked LM the masked text and the candidates' ids; for a
/// decoder one filled-in sentence per candidate. GoldIndex is the gold object among the candidates.
/// </summary>
public sealed record PreparedFact(ProbeFact Fact, int GoldIndex, CandidateQuery? Masked, IReadOnlyList<ScoredSentence>? Sentences);

/// <summary>
/// mLAMA-style typed candidate ranking: a fact is answered correctly when its gold object ranks first
/// among the candidates (ties go to the earlier candidate). A masked LM scores a candidate by the mean
/// log-probability of its tokens over as many masks; a decoder (BLOOM) by the log-likelihood of the
/// sentence with the candidate filled in. Preparing runs anywhere; answering runs on the host thread.
/// </summary>
public sealed class ProbeEvaluator(IProbedModel model, ProjectionService projection)
{
    public const string SubjectSlot = "[X]", ObjectSlot = "[Y]";

    /// <param name="project">Whether non-English facts get LRP2 (English never does).</param>
    public PreparedFact Prepare(ProbeFact fact, bool project, ProjectionRequest? layers = null)
    {
        if (!fact.Template.Contains(SubjectSlot) || !fact.Template.Contains(ObjectSlot))
            throw InferenceException.Invalid($"fact {fact.Id}: the template must contain {SubjectSlot} and {ObjectSlot}.", "facts");
        var candidates = fact.Candidates.Contains(fact.Object) ? fact.Candidates : [fact.Object, .. fact.Candidates];
        int gold = candidates.ToList().IndexOf(fact.Object);
        var row = project ? projection.Plan(fact.Language, (layers ?? new ProjectionRequest()) with { Enabled = true }).Row : null;
        var withSubject = fact.Template.Replace(SubjectSlot, fact.Subject);
        if (model is MaskedLmBundle masked)
            return new PreparedFact(fact, gold, PrepareMasked(fact, masked, withSubject, candidates, row), null);
        var sentences = candidates.Select(c => new ScoredSentence(model.EncodeSentence(withSubject.Replace(ObjectSlot, c)), row)).ToArray();
        if (sentences.Any(s => s.Ids.Length < 2 || s.Ids.Length > model.MaxSequenceLength))
            throw InferenceException.Invalid($"fact {fact.Id}: a filled-in sentence is shorter than 2 tokens or longer than {model.Name} reads.", "facts");
        return new PreparedFact(fact, gold, null, sentences);
    }

    static CandidateQuery PrepareMasked(ProbeFact fact, MaskedLmBundle bundle, string withSubject, IReadOnlyList<string> candidates, RowProjection? row)
    {
        var ids = bundle.Tokenizer.Encode(withSubject.Replace(ObjectSlot, Tokenization.MaskMarkers.Generic));
        int mask = Array.IndexOf(ids, bundle.Tokenizer.MaskId);
        if (mask < 0 || ids.Count(id => id == bundle.Tokenizer.MaskId) != 1)
            throw InferenceException.Invalid($"fact {fact.Id}: the filled template must hold exactly one {ObjectSlot}.", "facts");
        var candidateIds = candidates.Select(c => bundle.Tokenizer.EncodeWord(c)).ToArray();
        if (candidateIds.Any(c => c.Length == 0))
            throw InferenceException.Invalid($"fact {fact.Id}: a candidate tokenizes to nothing.", "facts");
        return new CandidateQuery(ids, mask, candidateIds, row);
    }

    /// <summary>Whether each fact's gold object ranks first. Host thread only.</summary>
    public bool[] Answer(IReadOnlyList<PreparedFact> facts)
    {
        var scores = Scores(facts);
        return [.. facts.Select((f, i) => Array.IndexOf(scores[i], scores[i].Max()) == f.GoldIndex)];
    }

    /// <summary>Per fact, per candidate: the score candidates are ranked by. Host thread only.</summary>
    public double[][] Scores(IReadOnlyList<PreparedFact> facts)
    {
        if (model is MaskedLmBundle masked)
            return MaskedCandidateScorer.Score(masked, [.. facts.Select(f => f.Masked!)]);
        var flat = CausalSentenceScorer.Score((BloomBundle)model, [.. facts.SelectMany(f => f.Sentences!)]);
        var result = new double[facts.Count][];
        for (int i = 0, offset = 0; i < facts.Count; offset += facts[i].Sentences!.Count, i++)
            result[i] = flat[offset..(offset + facts[i].Sentences!.Count)];
        return result;
    }
}
