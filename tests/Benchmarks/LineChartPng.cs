using System.Globalization;

namespace Service.Benchmarks;

/// <summary>One line of a chart: a y value per x category.</summary>
public sealed record ChartSeries(string Name, double[] Values, (byte R, byte G, byte B) Color, bool Dashed = false);

/// <summary>One panel: x categories (e.g. concurrency 1, 4, 16) evenly spaced, y from zero.</summary>
public sealed record ChartPanel(string Title, string XLabel, string YLabel, string[] Categories, IReadOnlyList<ChartSeries> Series);

/// <summary>
/// Line charts as an RGB PNG with no imaging dependency: panels side by side, axes, grid, tick
/// labels and a legend in a built-in 5x7 pixel font (upper case), encoded by RgbPng.
/// </summary>
public static class LineChartPng
{
    const int PanelWidth = 560, Height = 470, Left = 90, Right = 24, Top = 64, Bottom = 124, Scale = 2;

    public static byte[] Render(IReadOnlyList<ChartPanel> panels)
    {
        var canvas = new Canvas(PanelWidth * panels.Count, Height);
        for (int p = 0; p < panels.Count; p++) Draw(canvas, panels[p], p * PanelWidth);
        return canvas.ToPng();
    }

    static void Draw(Canvas c, ChartPanel panel, int x0)
    {
        int plotLeft = x0 + Left, plotRight = x0 + PanelWidth - Right, plotTop = Top, plotBottom = Height - Bottom;
        double max = panel.Series.SelectMany(s => s.Values).Where(double.IsFinite).DefaultIfEmpty(1).Max();
        double step = NiceStep(max / 5);
        double top = Math.Ceiling(max * 1.05 / step) * step;
        if (top <= 0) top = 1;
        c.Text(x0 + Left, 10, panel.Title, (0, 0, 0));
        for (double v = 0; v <= top + step / 2; v += step)
        {
            int y = plotBottom - (int)Math.Round(v / top * (plotBottom - plotTop));
            c.Line(plotLeft, y, plotRight, y, (225, 225, 225), 1, dashed: false);
            var label = v.ToString(step < 1 ? "0.0#" : "0", CultureInfo.InvariantCulture);
            c.Text(plotLeft - 8 - label.Length * 6 * Scale, y - 7, label, (60, 60, 60));
        }
        c.Line(plotLeft, plotTop, plotLeft, plotBottom, (0, 0, 0), 1, false);
        c.Line(plotLeft, plotBottom, plotRight, plotBottom, (0, 0, 0), 1, false);
        int n = panel.Categories.Length;
        int X(int i) => n == 1 ? (plotLeft + plotRight) / 2 : plotLeft + 30 + i * (plotRight - plotLeft - 60) / (n - 1);
        for (int i = 0; i < n; i++)
        {
            c.Line(X(i), plotBottom, X(i), plotBottom + 5, (0, 0, 0), 1, false);
            c.Text(X(i) - panel.Categories[i].Length * 3 * Scale, plotBottom + 10, panel.Categories[i], (60, 60, 60));
        }
        c.Text((plotLeft + plotRight) / 2 - panel.XLabel.Length * 3 * Scale, plotBottom + 34, panel.XLabel, (0, 0, 0));
        c.Text(x0 + 10, Top - 26, panel.YLabel, (0, 0, 0));
        for (int s = 0; s < panel.Series.Count; s++)
        {
            var series = panel.Series[s];
            int Y(double v) => plotBottom - (int)Math.Round(Math.Max(0, v) / top * (plotBottom - plotTop));
            for (int i = 0; i + 1 < n; i++)
                if (double.IsFinite(series.Values[i]) && double.IsFinite(series.Values[i + 1]))
                    c.Line(X(i), Y(series.Values[i]), X(i + 1), Y(series.Values[i + 1]), series.Color, 3, series.Dashed);
            for (int i = 0; i < n; i++)
                if (double.IsFinite(series.Values[i]) && !series.Dashed) c.Fill(X(i) - 4, Y(series.Values[i]) - 4, 9, 9, series.Color);
            int ly = plotBottom + 60 + s * 20;
            c.Line(plotLeft + 12, ly + 6, plotLeft + 40, ly + 6, series.Color, 3, series.Dashed);
            c.Text(plotLeft + 48, ly, series.Name, (0, 0, 0));
        }
    }

    static double NiceStep(double raw)
    {
        if (raw <= 0 || !double.IsFinite(raw)) return 1;
        double power = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        double f = raw / power;
        return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * power;
    }

    sealed class Canvas(int width, int height)
    {
        readonly byte[] _rgb = Enumerable.Repeat((byte)255, width * height * 3).ToArray();

        public void Set(int x, int y, (byte R, byte G, byte B) color)
        {
            if (x < 0 || y < 0 || x >= width || y >= height) return;
            int i = (y * width + x) * 3;
            (_rgb[i], _rgb[i + 1], _rgb[i + 2]) = color;
        }

        public void Fill(int x, int y, int w, int h, (byte, byte, byte) color)
        {
            for (int dy = 0; dy < h; dy++)
                for (int dx = 0; dx < w; dx++) Set(x + dx, y + dy, color);
        }

        /// <summary>Bresenham with a square pen; dashes of 10 pixels on, 8 off.</summary>
        public void Line(int x0, int y0, int x1, int y1, (byte, byte, byte) color, int pen, bool dashed)
        {
            int dx = Math.Abs(x1 - x0), dy = -Math.Abs(y1 - y0), sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1, err = dx + dy;
            for (int k = 0; ; k++)
            {
                if (!dashed || k % 18 < 10) Fill(x0 - pen / 2, y0 - pen / 2, pen, pen, color);
                if (x0 == x1 && y0 == y1) break;
                int e2 = 2 * err;
                if (e2 >= dy) { err += dy; x0 += sx; }
                if (e2 <= dx) { err += dx; y0 += sy; }
            }
        }

        public void Text(int x, int y, string text, (byte, byte, byte) color)
        {
            foreach (var ch in text.ToUpperInvariant())
            {
                if (Font.TryGetValue(ch, out var rows))
                    for (int r = 0; r < 7; r++)
                        for (int col = 0; col < 5; col++)
                            if ((rows[r] >> (4 - col) & 1) == 1) Fill(x + col * Scale, y + r * Scale, Scale, Scale, color);
                x += 6 * Scale;
            }
        }

        public byte[] ToPng() => Service.Inference.Imaging.RgbPng.Encode(width, height, _rgb);
    }

    // Classic 5x7 glyphs, one byte per row, bit 4 leftmost.
    static readonly Dictionary<char, byte[]> Font = new()
    {
        ['0'] = [0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E], ['1'] = [0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E],
        ['2'] = [0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F], ['3'] = [0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E],
        ['4'] = [0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02], ['5'] = [0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E],
        ['6'] = [0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E], ['7'] = [0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08],
        ['8'] = [0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E], ['9'] = [0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C],
        ['A'] = [0x0E, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11], ['B'] = [0x1E, 0x11, 0x11, 0x1E, 0x11, 0x11, 0x1E],
        ['C'] = [0x0E, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0E], ['D'] = [0x1C, 0x12, 0x11, 0x11, 0x11, 0x12, 0x1C],
        ['E'] = [0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F], ['F'] = [0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x10],
        ['G'] = [0x0E, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0F], ['H'] = [0x11, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11],
        ['I'] = [0x0E, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E], ['J'] = [0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0C],
        ['K'] = [0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11], ['L'] = [0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1F],
        ['M'] = [0x11, 0x1B, 0x15, 0x15, 0x11, 0x11, 0x11], ['N'] = [0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11],
        ['O'] = [0x0E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E], ['P'] = [0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10, 0x10],
        ['Q'] = [0x0E, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0D], ['R'] = [0x1E, 0x11, 0x11, 0x1E, 0x14, 0x12, 0x11],
        ['S'] = [0x0F, 0x10, 0x10, 0x0E, 0x01, 0x01, 0x1E], ['T'] = [0x1F, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04],
        ['U'] = [0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E], ['V'] = [0x11, 0x11, 0x11, 0x11, 0x11, 0x0A, 0x04],
        ['W'] = [0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0A], ['X'] = [0x11, 0x11, 0x0A, 0x04, 0x0A, 0x11, 0x11],
        ['Y'] = [0x11, 0x11, 0x11, 0x0A, 0x04, 0x04, 0x04], ['Z'] = [0x1F, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1F],
        ['.'] = [0x00, 0x00, 0x00, 0x00, 0x00, 0x0C, 0x0C], ['/'] = [0x00, 0x01, 0x02, 0x04, 0x08, 0x10, 0x00],
        ['-'] = [0x00, 0x00, 0x00, 0x1F, 0x00, 0x00, 0x00], [':'] = [0x00, 0x0C, 0x0C, 0x00, 0x0C, 0x0C, 0x00],
        ['('] = [0x02, 0x04, 0x08, 0x08, 0x08, 0x04, 0x02], [')'] = [0x08, 0x04, 0x02, 0x02, 0x02, 0x04, 0x08],
        ['%'] = [0x18, 0x19, 0x02, 0x04, 0x08, 0x13, 0x03], [','] = [0x00, 0x00, 0x00, 0x00, 0x0C, 0x04, 0x08],
        ['='] = [0x00, 0x00, 0x1F, 0x00, 0x1F, 0x00, 0x00],
        [' '] = [0, 0, 0, 0, 0, 0, 0],
    };
}
