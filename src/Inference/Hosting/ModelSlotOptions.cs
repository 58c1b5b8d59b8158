namespace Service.Inference.Hosting;

/// <summary>`Models:FillMask:*`: the probe model's checkpoint.</summary>
public sealed class ModelSlotOptions
{
    /// <summary>Hugging Face checkpoint directory; empty serves the embedded demo model.</summary>
    public string? Path { get; set; }
    /// <summary>
    /// Empty: fill-mask multiplies in the model's dtype. `int8`: on the ONNX Runtime path, every matrix
    /// product runs in 8-bit integers (weights per output row, activations per token), faster and
    /// approximate; start-up fails when the model is not served by ONNX Runtime.
    /// </summary>
    [System.ComponentModel.DataAnnotations.RegularExpression("^(|int8)$", ErrorMessage = "Models:FillMask:Weights must be empty or int8.")]
    public string? Weights { get; set; }
}
