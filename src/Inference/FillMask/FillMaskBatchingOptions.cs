using System.ComponentModel.DataAnnotations;

namespace Service.Inference.FillMask;

/// <summary>`FillMask:Batching:*` configuration.</summary>
public sealed class FillMaskBatchingOptions
{
    /// <summary>Queries in one forward pass.</summary>
    [Range(1, 4096)]
    public int MaxBatchSize { get; set; } = 32;
    /// <summary>Padded tokens in one forward pass (rows x longest row).</summary>
    [Range(1, int.MaxValue)]
    public int MaxBatchTokens { get; set; } = 8192;
    /// <summary>Queries that may wait; beyond this the service answers 429.</summary>
    [Range(1, int.MaxValue)]
    public int MaxWaiting { get; set; } = 256;
}
