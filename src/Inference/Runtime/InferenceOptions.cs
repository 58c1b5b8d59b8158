namespace Service.Inference.Runtime;

/// <summary>`Inference:*` configuration: where and in which precision tensors live.</summary>
public sealed class InferenceOptions
{
    /// <summary>`auto` (CUDA when present), `cpu`, `cuda`, `cuda:N`.</summary>
    public string Device { get; set; } = "auto";
    /// <summary>`float32`, `float16`, `bfloat16`.</summary>
    public string DType { get; set; } = "float32";
    /// <summary>Intra-op threads for CPU work; 0 means one per core.</summary>
    public int Threads { get; set; }
}
