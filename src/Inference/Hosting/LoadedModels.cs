using Service.Inference.Chat;
using Service.Inference.FillMask;
using Service.Inference.Models;

namespace Service.Inference.Hosting;

/// <summary>Everything the host loaded; owned by the host's thread, handed to each job.</summary>
public sealed class LoadedModels(MaskedLmBundle fillMask, FillMaskOptions fillMaskOptions, ChatBundle? chat = null, ChatOptions? chatOptions = null) : IDisposable
{
    public MaskedLmBundle FillMaskModel { get; } = fillMask;
    public FillMaskEngine FillMask { get; } = new(fillMask, fillMaskOptions);
    /// <summary>The chat model, when one is loaded.</summary>
    public ChatEngine? Chat { get; } = chat is null ? null : new(chat, chatOptions ?? new());

    public void Dispose()
    {
        FillMaskModel.Model.Dispose();
        Chat?.Bundle.Model.Dispose();
    }
}
