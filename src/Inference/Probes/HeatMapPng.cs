using Service.Inference.Imaging;

namespace Service.Inference.Probes;

/// <summary>
/// A heat map of values over (i, j) as a PNG, with no imaging dependency: one square cell per pair,
/// i down the rows and j across the columns (1-based), light yellow (low) to dark blue (high);
/// cells with no value (i &gt;= j) are white. A 1-pixel grey grid separates cells.
/// </summary>
public static class HeatMapPng
{
    const int Cell = 20;

    public static byte[] Render(double?[,] values)
    {
        int rows = values.GetLength(0), columns = values.GetLength(1);
        int width = columns * Cell + 1, height = rows * Cell + 1;
        var present = values.Cast<double?>().OfType<double>().ToArray();
        double low = present.DefaultIfEmpty(0).Min(), high = present.DefaultIfEmpty(1).Max();
        var rgb = new byte[height * width * 3];
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                (byte r, byte g, byte b) color = (y % Cell == 0 || x % Cell == 0) ? ((byte)200, (byte)200, (byte)200)
                    : values[y / Cell, x / Cell] is double v ? Ramp(high > low ? (v - low) / (high - low) : 1) : ((byte)255, (byte)255, (byte)255);
                int at = (y * width + x) * 3;
                (rgb[at], rgb[at + 1], rgb[at + 2]) = color;
            }
        return RgbPng.Encode(width, height, rgb);
    }

    // Linear from (255, 255, 204) to (8, 48, 107): light yellow to dark blue.
    static (byte, byte, byte) Ramp(double t) =>
        ((byte)(255 + (8 - 255) * t), (byte)(255 + (48 - 255) * t), (byte)(204 + (107 - 204) * t));
}
