using Service.Inference.FillMask;
using Service.Inference.Hosting;
using Service.Inference.Models;
using Service.Inference.Projection;

namespace Service.Inference.Probes;

/// <summary>A fact tokenized for the model: the masked text's ids, the candidates' ids, the gold's index.</summary>
public sealed record PreparedFact(ProbeFact Fact, CandidateQuery Query, int GoldIndex);

/// <summary>
/// mLAMA-style typed candidate ranking on a masked LM: a fact is answered correctly when its gold
/// object ranks first among the candidates (ties go to the earlier candidate), each candidate scored
/// by the mean log-probability of its tokens over as many masks. Preparing runs anywhere; scoring
/// runs on the host thread.
/// </summary>
public sealed class ProbeEvaluator(MaskedLmBundle bundle, ProjectionService projection)
{
    public const string SubjectSlot = "[X]", ObjectSlot = "[Y]";

    /// <param name="project">Whether non-English facts get LRP2 (English never does).</param>
    public PreparedFact Prepare(ProbeFact fact, bool project, ProjectionRequest? layers = null)
    {
        if (!fact.Template.Contains(SubjectSlot) || !fact.Template.Contains(ObjectSlot))
            throw InferenceException.Invalid($"fact {fact.Id}: the template must contain {SubjectSlot} and {ObjectSlot}.", "facts");
        var text = fact.Template.Replace(SubjectSlot, fact.Subject).Replace(ObjectSlot, MaskMarkersText);
        var ids = bundle.Tokenizer.Encode(text);
        int mask = Array.IndexOf(ids, bundle.Tokenizer.MaskId);
        if (mask < 0 || ids.Count(id => id == bundle.Tokenizer.MaskId) != 1)
            throw InferenceException.Invalid($"fact {fact.Id}: the filled template must hold exactly one {ObjectSlot}.", "facts");
        var candidates = fact.Candidates.Contains(fact.Object) ? fact.Candidates : [fact.Object, .. fact.Candidates];
        var candidateIds = candidates.Select(c => bundle.Tokenizer.EncodeWord(c)).ToArray();
        if (candidateIds.Any(c => c.Length == 0))
            throw InferenceException.Invalid($"fact {fact.Id}: a candidate tokenizes to nothing.", "facts");
        var row = project ? projection.Plan(fact.Language, (layers ?? new ProjectionRequest()) with { Enabled = true }).Row : null;
        return new PreparedFact(fact, new CandidateQuery(ids, mask, candidateIds, row), candidates.ToList().IndexOf(fact.Object));
    }

    /// <summary>Whether each fact's gold object ranks first. Host thread only.</summary>
    public bool[] Answer(IReadOnlyList<PreparedFact> facts)
    {
        var scores = MaskedCandidateScorer.Score(bundle, [.. facts.Select(f => f.Query)]);
        return [.. facts.Select((f, i) => Array.IndexOf(scores[i], scores[i].Max()) == f.GoldIndex)];
    }

    const string MaskMarkersText = Tokenization.MaskMarkers.Generic;
}
