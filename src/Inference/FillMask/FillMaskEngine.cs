using Service.Inference.Hosting;
using Service.Inference.Models;
using Service.Inference.Projection;
using TorchSharp;
using static TorchSharp.torch;

namespace Service.Inference.FillMask;

/// <summary>A validated, tokenized query, ready for the model's thread.</summary>
public sealed record PreparedFillMask(FillMaskQuery Query, int[] InputIds, int[] MaskPositions, int[]? TargetIds,
    RowProjection? Projection, ProjectionOutcome ProjectionOutcome);

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
        var targets = query.Targets is null ? null : TargetIds(query.Targets);
        var (row, outcome) = projection?.Plan(query.Language, query.Projection)
            ?? (null, new ProjectionOutcome(false, query.Language, null, "LRP2 is not set up for this engine"));
        return new PreparedFillMask(query, ids, masks, targets, row, outcome);
    }

    int[] TargetIds(IReadOnlyList<string> targets)
    {
        if (targets.Count == 0 || targets.Count > options.MaxTargets)
            throw InferenceException.Invalid($"targets must hold between 1 and {options.MaxTargets} words, or be omitted.", "targets");
        var ids = new List<int>();
        foreach (var target in targets)
        {
            var pieces = string.IsNullOrWhiteSpace(target) ? [] : bundle.Tokenizer.EncodeWord(target);
            var unknown = pieces.Length == 0 || pieces.Any(id => bundle.Tokenizer.IsSpecial(id) || bundle.Tokenizer.TokenString(id) is "[UNK]" or "<unk>");
            if (unknown)
                throw InferenceException.Invalid($"target '{target}' is not in the vocabulary of {bundle.Name}; use words the model knows.", "targets");
            if (pieces.Length > 1)
                throw InferenceException.Invalid(
                    $"target '{target}' is {pieces.Length} tokens ({string.Join(" ", pieces.Select(bundle.Tokenizer.TokenString))}) for {bundle.Name}; fill-mask targets must be single tokens.", "targets");
            if (!ids.Contains(pieces[0])) ids.Add(pieces[0]);
        }
        return [.. ids];
    }

    /// <summary>One padded forward pass for the whole batch; each result equals its single-query run.</summary>
    public IReadOnlyList<FillMaskResult> Run(IReadOnlyList<PreparedFillMask> batch)
    {
        using var scope = torch.NewDisposeScope();
        using var mode = torch.inference_mode();
        var model = bundle.Model;
        var (inputIds, mask) = Batches.Pad([.. batch.Select(q => q.InputIds)], bundle.Tokenizer.PadId, model.Device);
        long width = inputIds.shape[1];
        var rows = batch.SelectMany((q, b) => q.MaskPositions.Select(p => b * width + p)).ToArray();
        var intervention = Lrp2Intervention.Create([.. batch.Select(q => q.Projection)], model.Device);
        var hidden = model.Encode(inputIds, mask, intervention);                                  // [B, T, H]
        var maskRows = hidden.reshape(-1, model.HiddenSize).index_select(0, torch.tensor(rows, device: model.Device)); // [N, H]
        // The head runs only at mask positions; softmax in float32 whatever the weights' dtype.
        var probabilities = model.PredictTokens(maskRows).to(ScalarType.Float32).softmax(-1);    // [N, V]

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
        if (query.TargetIds is { } targets)
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
            predictions[i] = new TokenPrediction(scores[i], id, TokenString(id), bundle.Tokenizer.Decode(filled));
        }
        return predictions;
    }

    // Rows past the tokenizer's vocabulary exist in some checkpoints (padded embedding matrices).
    string TokenString(int id) => id < bundle.Tokenizer.VocabSize ? bundle.Tokenizer.TokenString(id) : $"<id {id}>";
}
