using Service.Inference.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Service.Inference.Projection;

/// <summary>One row's projection: its language's vectors, English's, and the layer pair.</summary>
public sealed record RowProjection(LanguageVectors Language, LanguageVectors English, LayerPair Layers);

/// <summary>
/// LRP2 as a hidden-state intervention for a batch in which each row may have its own language and
/// layers (or none): after layer i, LIRP h &lt;- h - v_l(i) + v_en(i); after layer j, LSRP
/// h &lt;- h - v_en(j) + v_l(j), at every token position of that row.
/// </summary>
public static class Lrp2Intervention
{
    /// <summary>Null when no row is projected. The returned delegate allocates inside the caller's dispose scope.</summary>
    public static HiddenStateIntervention? Create(IReadOnlyList<RowProjection?> rows, Device device)
    {
        if (rows.All(r => r is null)) return null;
        var shifts = new Dictionary<int, float[][]>(); // layer -> per-row shift, [B][H]
        int hidden = rows.First(r => r is not null)!.English.HiddenSize;
        for (int b = 0; b < rows.Count; b++)
        {
            if (rows[b] is not { } row) continue;
            Add(shifts, row.Layers.Lirp, b, rows.Count, hidden, row.Language, row.English, sign: 1);  // - v_l + v_en
            Add(shifts, row.Layers.Lsrp, b, rows.Count, hidden, row.Language, row.English, sign: -1); // - v_en + v_l
        }
        return (layer, h) =>
        {
            if (!shifts.TryGetValue(layer, out var perRow)) return h;
            var shift = torch.tensor(perRow.SelectMany(r => r).ToArray(), [perRow.Length, 1, hidden], device: device).to(h.dtype); // [B, 1, H]
            return h + shift;
        };
    }

    static void Add(Dictionary<int, float[][]> shifts, int layer, int row, int rows, int hidden, LanguageVectors l, LanguageVectors en, int sign)
    {
        if (!shifts.TryGetValue(layer, out var perRow))
            shifts[layer] = perRow = Enumerable.Range(0, rows).Select(_ => new float[hidden]).ToArray();
        for (int d = 0; d < hidden; d++)
            perRow[row][d] += sign * (en.Layers[layer][d] - l.Layers[layer][d]);
    }
}
