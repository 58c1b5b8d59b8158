using System.ComponentModel.DataAnnotations;

namespace Service.Inference.Probes;

/// <summary>`Probes:*` configuration: limits of `POST /v1/probes/evaluate`.</summary>
public sealed class ProbeOptions
{
    /// <summary>Facts one request may send; full mLAMA runs belong to the `lrp2 evaluate` command.</summary>
    [Range(1, int.MaxValue)]
    public int MaxFacts { get; set; } = 5_000;
}
