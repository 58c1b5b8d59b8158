namespace Service.Inference.Hosting;

/// <summary>`Models:*` configuration.</summary>
public sealed class ModelsOptions
{
    public ModelSlotOptions FillMask { get; set; } = new();
    public ChatModelSlotOptions Chat { get; set; } = new();
}
