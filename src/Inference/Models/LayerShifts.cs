using TorchSharp;
using static TorchSharp.torch;

namespace Service.Inference.Models;

/// <summary>
/// Additive per-row shifts of a batch's hidden states after chosen layers (k = 0 is the embedding
/// output, as <see cref="HiddenStateIntervention"/> counts): row b's hidden state after layer k
/// becomes h + shift[k][b] at every token position. LRP2 is such a shift; a model may apply it as
/// an intervention on its layer loop (<see cref="AsIntervention"/>) or take it as a dense input
/// (<see cref="Dense"/>), which is how a compiled graph receives it.
/// </summary>
public sealed class LayerShifts(int rows, int hidden, IReadOnlyDictionary<int, float[]> byLayer)
{
    /// <summary>Layer k's shifts, row-major [rows, hidden], or null where layer k is not shifted.</summary>
    public float[]? At(int layer) => byLayer.GetValueOrDefault(layer);

    /// <summary>The shifts as a hook on the layer loop; it allocates inside the caller's dispose scope.</summary>
    public HiddenStateIntervention AsIntervention(Device device) => (layer, h) =>
        At(layer) is { } shift ? h + torch.tensor(shift, [rows, 1, hidden], device: device).to(h.dtype) : h;

    /// <summary>Every layer's shifts, [layers + 1, rows, hidden] row-major, zeros where nothing is shifted.</summary>
    public float[] Dense(int layers)
    {
        var dense = new float[(layers + 1) * rows * hidden];
        foreach (var (layer, shift) in byLayer)
            if (layer >= 0 && layer <= layers) shift.CopyTo(dense, layer * rows * hidden);
        return dense;
    }
}
