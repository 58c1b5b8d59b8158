using Service.Inference.FillMask;
using Service.Inference.Models;

namespace Service.Inference.Hosting;

/// <summary>Everything the host loaded; owned by the host's thread, handed to each job.</summary>
public sealed class LoadedModels(MaskedLmBundle fillMask, FillMaskOptions fillMaskOptions) : IDisposable
{
    public MaskedLmBundle FillMaskModel { get; } = fillMask;
    public FillMaskEngine FillMask { get; } = new(fillMask, fillMaskOptions);

    public void Dispose() => FillMaskModel.Model.Dispose();
}
