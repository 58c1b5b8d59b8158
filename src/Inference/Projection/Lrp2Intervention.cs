using Service.Inference.Models;
using static TorchSharp.torch;

namespace Service.Inference.Projection;

/// <summary>One row's projection: its language's vectors, English's, and the layer pair.</summary>
public sealed record RowProjection(LanguageVectors Language, LanguageVectors English, LayerPair Layers);

/// <summary>
/// LRP2 for a batch in which each row may have its own language and layers (or none): after layer
/// i, LIRP h &lt;- h - v_l(i) + v_en(i); after layer j, LSRP h &lt;- h - v_en(j) + v_l(j), at every
/// token position of that row.
/// </summary>
public static class Lrp2Intervention
{
    /// <summary>Null when no row is projected. The returned delegate allocates inside the caller's dispose scope.</summary>
    public static HiddenStateIntervention? Create(IReadOnlyList<RowProjection?> rows, Device device) =>
        Shifts(rows)?.AsIntervention(device);

    /// <summary>The batch's LRP2 as additive layer shifts; null when no row is projected.</summary>
    public static LayerShifts? Shifts(IReadOnlyList<RowProjection?> rows)
    {
        if (rows.All(r => r is null)) return null;
        var shifts = new Dictionary<int, float[]>(); // layer -> [B, H]
        int hidden = rows.First(r => r is not null)!.English.HiddenSize;
        for (int b = 0; b < rows.Count; b++)
        {
            if (rows[b] is not { } row) continue;
            Add(shifts, row.Layers.Lirp, b, rows.Count, hidden, row.Language, row.English, sign: 1);  // - v_l + v_en
            Add(shifts, row.Layers.Lsrp, b, rows.Count, hidden, row.Language, row.English, sign: -1); // - v_en + v_l
        }
        return new LayerShifts(rows.Count, hidden, shifts);
    }

    static void Add(Dictionary<int, float[]> shifts, int layer, int row, int rows, int hidden, LanguageVectors l, LanguageVectors en, int sign)
    {
        if (!shifts.TryGetValue(layer, out var shift)) shifts[layer] = shift = new float[rows * hidden];
        for (int d = 0; d < hidden; d++)
            shift[row * hidden + d] += sign * (en.Layers[layer][d] - l.Layers[layer][d]);
    }
}
