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
    /// <summary>
    /// When fewer queries wait than the last batch held (its clients are still sending their next
    /// ones), the batcher waits up to this long for them, and starts as soon as they are there.
    /// A lone client (last batch of one) never waits; 0 turns gathering off.
    /// </summary>
    [Range(0, 60_000)]
    public int GatherMs { get; set; } = 10;
    /// <summary>Queries that may wait; beyond this the service answers 429.</summary>
    [Range(1, int.MaxValue)]
    public int MaxWaiting { get; set; } = 256;
}
