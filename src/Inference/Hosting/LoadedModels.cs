using Microsoft.Extensions.Logging;
using Service.Inference.Chat;
using Service.Inference.FillMask;
using Service.Inference.Models;
using Service.Inference.Projection;

namespace Service.Inference.Hosting;

/// <summary>Everything the host loaded; owned by the host's thread, handed to each job.</summary>
public sealed class LoadedModels : IDisposable
{
    /// <param name="probed">The `Models:FillMask` slot: a masked LM (fill-mask and LRP2) or BLOOM (LRP2 probing only).</param>
    public LoadedModels(IProbedModel probed, FillMaskOptions fillMaskOptions, ProjectionOptions projectionOptions, ILogger log,
        ChatBundle? chat = null, ChatOptions? chatOptions = null)
    {
        Probed = probed;
        Projection = new ProjectionService(probed, projectionOptions, log);
        FillMask = probed is MaskedLmBundle masked ? new FillMaskEngine(masked, fillMaskOptions, Projection) : null;
        Chat = chat is null ? null : new ChatEngine(chat, chatOptions ?? new());
    }

    /// <summary>The model LRP2 probes: the masked LM, or a decoder (BLOOM).</summary>
    public IProbedModel Probed { get; }
    /// <summary>LRP2 language vectors of the probed model.</summary>
    public ProjectionService Projection { get; }
    /// <summary>Fill-mask, when the probed model is a masked LM.</summary>
    public FillMaskEngine? FillMask { get; }
    public MaskedLmBundle? FillMaskModel => Probed as MaskedLmBundle;
    /// <summary>The chat model, when one is loaded.</summary>
    public ChatEngine? Chat { get; }

    public void Dispose()
    {
        Projection.Dispose();
        Probed.Model.Dispose();
        Chat?.Bundle.Model.Dispose();
    }
}
