using Service.Inference.Projection;

namespace Service.Inference.FillMask;

/// <summary>A fill-mask query: text with `[MASK]` markers, how many predictions, optional candidate targets, language and LRP2 wishes.</summary>
public sealed record FillMaskQuery(string Text, int TopK = 5, IReadOnlyList<string>? Targets = null, string Language = "en",
    ProjectionRequest? Projection = null);

/// <summary>As Hugging Face's fill-mask pipeline: probability, token id, decoded token, filled-in text.
/// A whole-word target of several tokens scores exp(mean log-probability) and lists its tokens.</summary>
public sealed record TokenPrediction(double Score, int Token, string TokenStr, string Sequence)
{
    public int[]? Tokens { get; init; }
    public double? MeanLogProbability { get; init; }
}

/// <summary>Predictions for one mask; Position counts special tokens (0 is [CLS] / &lt;s&gt;).</summary>
public sealed record MaskPredictions(int Position, IReadOnlyList<TokenPrediction> Predictions);

public sealed record FillMaskResult(IReadOnlyList<MaskPredictions> Masks, int PromptTokens, ProjectionOutcome Projection);
