using System.ComponentModel.DataAnnotations;

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
    /// <summary>
    /// What runs fill-mask on a BERT / XLM-R model: `auto` (ONNX Runtime for a float32 model on the
    /// CPU, TorchSharp otherwise), `onnxruntime` (required: start-up fails when it cannot apply),
    /// `torch`. Language vectors, probes and chat always run on TorchSharp.
    /// </summary>
    [RegularExpression("^(auto|torch|onnxruntime)$", ErrorMessage = "Inference:FillMaskRuntime must be auto, torch or onnxruntime.")]
    public string FillMaskRuntime { get; set; } = "auto";
}
