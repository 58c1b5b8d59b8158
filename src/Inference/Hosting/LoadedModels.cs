using Microsoft.Extensions.Logging;
using Service.Inference.Chat;
using Service.Inference.FillMask;
using Service.Inference.Models;
using Service.Inference.Projection;

namespace Service.Inference.Hosting;

/// <summary>Everything the host loaded; owned by the host's thread, handed to each job.</summary>
public sealed class LoadedModels : IDisposable
{
    public LoadedModels(MaskedLmBundle fillMask, FillMaskOptions fillMaskOptions, ProjectionOptions projectionOptions, ILogger log,
        ChatBundle? chat = null, ChatOptions? chatOptions = null)
    {
        FillMaskModel = fillMask;
        Projection = new ProjectionService(fillMask, projectionOptions, log);
        FillMask = new FillMaskEngine(fillMask, fillMaskOptions, Projection);
        Chat = chat is null ? null : new ChatEngine(chat, chatOptions ?? new());
    }

    public MaskedLmBundle FillMaskModel { get; }
    /// <summary>LRP2 language vectors of the fill-mask model.</summary>
    public ProjectionService Projection { get; }
    public FillMaskEngine FillMask { get; }
    /// <summary>The chat model, when one is loaded.</summary>
    public ChatEngine? Chat { get; }

    public void Dispose()
    {
        FillMaskModel.Model.Dispose();
        Chat?.Bundle.Model.Dispose();
    }
}
