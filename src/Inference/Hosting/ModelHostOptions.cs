using System.ComponentModel.DataAnnotations;

namespace Service.Inference.Hosting;

/// <summary>`Host:*` configuration: admission control of the model's queue.</summary>
public sealed class ModelHostOptions
{
    /// <summary>Requests that may wait for the model; beyond this the service answers 429.</summary>
    [Range(1, int.MaxValue)]
    public int QueueCapacity { get; set; } = 64;
}
