using Service.Inference.Hosting;
using Service.Inference.Models;
using Service.Inference.Projection;
using TorchSharp;
using static TorchSharp.torch;

namespace Service.Inference.FillMask;

/// <summary>A validated, tokenized query, ready for the model's thread.</summary>
public sealed record PreparedFillMask(FillMaskQuery Query, int[] InputIds, int[] MaskPositions, IReadOnlyList<Candidate>? Targets,
    RowProjection? Projection, ProjectionOutcome ProjectionOutcome)
{
    /// <summary>Targets of several tokens are ranked whole (mean log-probability over as many masks), not by their first piece.</summary>
    public bool RanksWholeWords => Targets?.Any(t => t.Ids.Length > 1) == true;
}

/// <summary>A candidate word and its token ids.</summary>
public sealed record Candidate(string Text, int[] Ids);

/// <summary>
/// Fill-mask with Hugging Face pipeline semantics. <see cref="Prepare"/> validates and tokenizes
/// (any thread); <see cref="Run"/> does the tensor work for a batch (the host's thread only).
/// </summary>
public sealed class FillMaskEngine(MaskedLmBundle bundle, FillMaskOptions options, ProjectionService? projection = null)
{
    public MaskedLmBundle Bundle => bundle;

    public PreparedFillMask Prepare(FillMaskQuery query)
    {
        var tokenizer = bundle.Tokenizer;
        if (string.IsNullOrWhiteSpace(query.Text))
            throw InferenceException.Invalid("text is empty; send a sentence with [MASK] where the word to predict goes.", "text");
        if (query.TopK < 1 || query.TopK > options.MaxTopK)
            throw InferenceException.Invalid($"top_k must be between 1 and {options.MaxTopK}; it was {query.TopK}.", "top_k");
        var ids = tokenizer.Encode(query.Text);
        var masks = Enumerable.Range(0, ids.Length).Where(i => ids[i] == tokenizer.MaskId).ToArray();
        if (masks.Length == 0)
            throw InferenceException.Invalid("text has no [MASK]; put [MASK] where the word to predict goes.", "text");
        if (masks.Length > options.MaxMasks)
            throw InferenceException.Invalid($"text has {masks.Length} masks; at most {options.MaxMasks} are allowed per request.", "text");
        if (ids.Length > bundle.MaxSequenceLength)
            throw InferenceException.Invalid($"text is {ids.Length} tokens long (special tokens included); {bundle.Name} reads at most {bundle.MaxSequenceLength}. Shorten the text.", "text");
        var targets = query.Targets is null ? null : Candidates(query.Targets);
        if (targets is not null && targets.Any(t => t.Ids.Length > 1) && masks.Length > 1)
            throw InferenceException.Invalid("targets of several tokens are ranked over one [MASK]; send text with a single [MASK].", "targets");
        if (targets is not null && ids.Length - 1 + targets.Max(t => t.Ids.Length) > bundle.MaxSequenceLength)
            throw InferenceException.Invalid($"text with the longest target in place exceeds the {bundle.MaxSequenceLength} tokens {bundle.Name} reads.", "targets");
        var (row, outcome) = projection?.Plan(query.Language, query.Projection)
            ?? (null, new ProjectionOutcome(false, query.Language, null, "LRP2 is not set up for this engine"));
        return new PreparedFillMask(query, ids, masks, targets, row, outcome);
    }

    /// <summary>
    /// Targets as the pipeline's get_target_ids: a vocabulary entry spelled exactly so (`##s`, `▁Paris`)
    /// is that token; any other target is tokenized. Where the pipeline then keeps only the first
    /// piece, a target of several pieces is ranked whole (this service's extension). Unlike the
    /// pipeline, which ignores an empty target and scores one that tokenizes to [UNK], both are refused.
    /// </summary>
    List<Candidate> Candidates(IReadOnlyList<string> targets)
    {
        if (targets.Count == 0 || targets.Count > options.MaxTargets)
            throw InferenceException.Invalid($"targets must hold between 1 and {options.MaxTargets} words, or be omitted.", "targets");
        var tokenizer = bundle.Tokenizer;
        var candidates = new List<Candidate>();
        for (int i = 0; i < targets.Count; i++)
        {
            var target = targets[i] ?? ""; // JSON may hold null
            var entry = tokenizer.TokenId(target);
            int[] pieces = entry is { } id ? [id] : tokenizer.EncodeWord(target);
            if (pieces.Length == 0)
                throw InferenceException.Invalid($"targets[{i}] is not in the vocabulary of {bundle.Name}: it is empty or only spaces and control characters; send a word.", "targets");
            if (entry is null && pieces.Contains(tokenizer.UnknownId))
                throw InferenceException.Invalid($"targets[{i}] is not in the vocabulary of {bundle.Name} (it tokenizes to the unknown token); use words the model knows.", "targets");
            if (pieces.Length > options.MaxTargetTokens)
                throw InferenceException.Invalid($"targets[{i}] is {pieces.Length} tokens; at most {options.MaxTargetTokens} are allowed.", "targets");
            if (!candidates.Any(c => c.Ids.SequenceEqual(pieces))) candidates.Add(new Candidate(target, pieces));
        }
        return candidates;
    }

    /// <summary>
    /// Token predictions for the batch in one padded forward pass, whole-word rankings in another;
    /// each result equals its single-query run.
    /// </summary>
    public IReadOnlyList<FillMaskResult> Run(IReadOnlyList<PreparedFillMask> batch)
    {
        var results = new FillMaskResult[batch.Count];
        var byToken = Enumerable.Range(0, batch.Count).Where(q => !batch[q].RanksWholeWords).ToArray();
        var wholeWords = Enumerable.Range(0, batch.Count).Where(q => batch[q].RanksWholeWords).ToArray();
        if (byToken.Length > 0)
            foreach (var (q, result) in byToken.Zip(RunTokens([.. byToken.Select(q => batch[q])])))
                results[q] = result;
        if (wholeWords.Length > 0)
            foreach (var (q, result) in wholeWords.Zip(RankWholeWords([.. wholeWords.Select(q => batch[q])])))
                results[q] = result;
        return results;
    }

    IReadOnlyList<FillMaskResult> RankWholeWords(IReadOnlyList<PreparedFillMask> batch)
    {
        var scores = MaskedCandidateScorer.Score(bundle,
            [.. batch.Select(q => new CandidateQuery(q.InputIds, q.MaskPositions[0], [.. q.Targets!.Select(t => t.Ids)], q.Projection))]);
        return [.. batch.Select((query, i) =>
        {
            var ranked = query.Targets!.Zip(scores[i]).OrderByDescending(c => c.Second).Take(query.Query.TopK);
            int position = query.MaskPositions[0];
            var predictions = ranked.Select(c => new TokenPrediction(Math.Exp(c.Second), c.First.Ids[0], bundle.Tokenizer.Decode(c.First.Ids, skipSpecialTokens: false),
                Sequence([.. query.InputIds[..position], .. c.First.Ids, .. query.InputIds[(position + 1)..]], singleMask: true))
                { Tokens = c.First.Ids, MeanLogProbability = c.Second }).ToList();
            return new FillMaskResult([new MaskPredictions(position, predictions)], query.InputIds.Length, query.ProjectionOutcome);
        })];
    }

    IReadOnlyList<FillMaskResult> RunTokens(IReadOnlyList<PreparedFillMask> batch)
    {
        using var scope = torch.NewDisposeScope();
        using var mode = torch.inference_mode();
        var model = bundle.Model;
        var (inputIds, mask) = Batches.Pad([.. batch.Select(q => q.InputIds)], bundle.Tokenizer.PadId, model.Device);
        long width = inputIds.shape[1];
        var rows = batch.SelectMany((q, b) => q.MaskPositions.Select(p => b * width + p)).ToArray();
        var shifts = Lrp2Intervention.Shifts([.. batch.Select(q => q.Projection)]);
        // The head runs only at mask positions; softmax in float32 whatever the weights' dtype.
        var probabilities = model.PredictAt(inputIds, mask, rows, shifts).to(ScalarType.Float32).softmax(-1); // [N, V]

        var results = new List<FillMaskResult>(batch.Count);
        int row = 0;
        foreach (var query in batch)
        {
            var masks = new List<MaskPredictions>();
            foreach (var position in query.MaskPositions)
                masks.Add(new MaskPredictions(position, Predict(query, position, probabilities[row++])));
            results.Add(new FillMaskResult(masks, query.InputIds.Length, query.ProjectionOutcome));
        }
        return results;
    }

    IReadOnlyList<TokenPrediction> Predict(PreparedFillMask query, int position, Tensor probabilities)
    {
        long[] ids;
        float[] scores;
        if (query.Targets?.Select(t => t.Ids[0]).ToArray() is { } targets)
        {
            var targetIds = torch.tensor(targets.Select(t => (long)t).ToArray(), device: probabilities.device);
            var (values, order) = probabilities.index_select(0, targetIds).topk(Math.Min(query.Query.TopK, targets.Length));
            scores = values.cpu().data<float>().ToArray();
            ids = targetIds.index_select(0, order).cpu().data<long>().ToArray();
        }
        else
        {
            var (values, indices) = probabilities.topk(Math.Min(query.Query.TopK, (int)probabilities.shape[0]));
            scores = values.cpu().data<float>().ToArray();
            ids = indices.cpu().data<long>().ToArray();
        }
        var predictions = new TokenPrediction[ids.Length];
        for (int i = 0; i < ids.Length; i++)
        {
            int id = (int)ids[i];
            var filled = (int[])query.InputIds.Clone();
            filled[position] = id;
            predictions[i] = new TokenPrediction(scores[i], id, TokenString(id), Sequence(filled, singleMask: query.MaskPositions.Length == 1));
        }
        return predictions;
    }

    /// <summary>
    /// As the pipeline: padding ids removed (a predicted pad too), then decoded without special tokens
    /// for one mask, and with them (the other masks stay visible, [CLS]/[SEP] too) for several.
    /// </summary>
    string Sequence(int[] filled, bool singleMask) =>
        bundle.Tokenizer.Decode([.. filled.Where(id => id != bundle.Tokenizer.PadId && id < bundle.Tokenizer.VocabSize)], skipSpecialTokens: singleMask);

    // Rows past the tokenizer's vocabulary exist in some checkpoints (padded embedding matrices).
    string TokenString(int id) => id < bundle.Tokenizer.VocabSize ? bundle.Tokenizer.TokenString(id) : $"<id {id}>";
}
