using System.ComponentModel.DataAnnotations;

namespace Service.Inference.FillMask;

/// <summary>`FillMask:*` configuration: the limits a fill-mask request must respect and its defaults, each stated here only.</summary>
public sealed class FillMaskOptions
{
    /// <summary>Predictions per mask when a request does not say.</summary>
    [Range(1, int.MaxValue)]
    public int DefaultTopK { get; set; } = 5;
    [Range(1, int.MaxValue)]
    public int MaxMasks { get; set; } = 5;
    [Range(1, int.MaxValue)]
    public int MaxTopK { get; set; } = 100;
    [Range(1, int.MaxValue)]
    public int MaxTargets { get; set; } = 100;
    /// <summary>Longest target in tokens (the mask is widened to this many).</summary>
    [Range(1, int.MaxValue)]
    public int MaxTargetTokens { get; set; } = 8;
}
