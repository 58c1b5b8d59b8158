namespace Service.Inference.Hosting;

/// <summary>`Models:FillMask:*`: the probe model's checkpoint.</summary>
public sealed class ModelSlotOptions
{
    /// <summary>Hugging Face checkpoint directory; empty serves the embedded demo model.</summary>
    public string? Path { get; set; }
}
