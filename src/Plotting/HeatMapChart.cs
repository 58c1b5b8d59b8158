using System.Globalization;
using ScottPlot;

namespace Service.Plotting;

/// <summary>What a heat map shows: values over rows and columns numbered from 1, some cells empty.</summary>
/// <param name="Values">[row - 1, column - 1]; null cells (no value) are drawn white.</param>
/// <param name="Marked">A cell to outline (row, column), e.g. the best pair.</param>
public sealed record HeatMap(string Title, string RowLabel, string ColumnLabel, string ValueLabel, double?[,] Values, (int Row, int Column)? Marked = null);

/// <summary>
/// A heat map as a PNG with ScottPlot: row 1 at the top, one tick per row and column, a colour bar
/// with the value scale, and each cell's value written in it while the cells are large enough to read.
/// </summary>
public static class HeatMapChart
{
    const int MaxCellsForText = 16;

    public static byte[] Render(HeatMap map, int width = 900, int height = 780)
    {
        int rows = map.Values.GetLength(0), columns = map.Values.GetLength(1);
        var intensities = new double[rows, columns];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < columns; c++)
                intensities[rows - 1 - r, c] = map.Values[r, c] ?? double.NaN; // ScottPlot draws array row 0 at the highest y

        var present = intensities.Cast<double>().Where(double.IsFinite).ToArray();
        if (present.Length == 0) throw new ArgumentException($"{map.Title}: a heat map needs at least one value.");

        var plot = new Plot();
        var heat = plot.Add.Heatmap(intensities);
        heat.Colormap = new ScottPlot.Colormaps.Viridis();
        heat.NaNCellColor = Colors.White;
        // Cell centres on whole numbers: column c at x = c, row r at y = r (the y axis is inverted below).
        heat.Position = new CoordinateRect(1, columns, rows, 1);
        if (present.Min() == present.Max()) // one value: a scale around it, not below zero for a score that cannot be
            heat.ManualRange = new(present[0] >= 0 ? Math.Max(0, present[0] - 1) : present[0] - 1, present[0] + 1);

        if (rows <= MaxCellsForText && columns <= MaxCellsForText)
            for (int r = 0; r < rows; r++)
                for (int c = 0; c < columns; c++)
                    if (map.Values[r, c] is double v)
                    {
                        var text = plot.Add.Text(v.ToString("0.#", CultureInfo.InvariantCulture), c + 1, r + 1);
                        text.LabelAlignment = Alignment.MiddleCenter;
                        text.LabelFontSize = rows <= 8 ? 16 : 11;
                        text.LabelFontColor = IsDark(heat, v, present) ? Colors.White : Colors.Black;
                    }
        if (map.Marked is var (row, column))
        {
            var box = plot.Add.Rectangle(column - 0.5, column + 0.5, row - 0.5, row + 0.5);
            box.FillStyle.Color = Colors.Transparent;
            box.LineStyle.Color = Colors.Red;
            box.LineStyle.Width = 3;
        }

        var bar = plot.Add.ColorBar(heat);
        bar.Label = map.ValueLabel;
        plot.Title(map.Title);
        plot.XLabel(map.ColumnLabel);
        plot.YLabel(map.RowLabel);
        plot.Axes.Bottom.TickGenerator = WholeNumbers(columns);
        plot.Axes.Left.TickGenerator = WholeNumbers(rows);
        plot.Axes.SetLimits(0.5, columns + 0.5, rows + 0.5, 0.5); // bottom > top: row 1 at the top
        plot.Grid.IsVisible = false;
        return plot.GetImageBytes(width, height, ImageFormat.Png);
    }

    static ScottPlot.TickGenerators.NumericManual WholeNumbers(int count)
    {
        var ticks = new ScottPlot.TickGenerators.NumericManual();
        int step = count <= 16 ? 1 : count <= 32 ? 2 : 4;
        for (int k = 1; k <= count; k += step) ticks.AddMajor(k, k.ToString(CultureInfo.InvariantCulture));
        return ticks;
    }

    // Viridis is dark at its low end: white text there, black on the light high end.
    static bool IsDark(ScottPlot.Plottables.Heatmap heat, double value, double[] present)
    {
        var range = heat.ManualRange ?? new ScottPlot.Range(present.Min(), present.Max());
        double span = range.Max - range.Min;
        double t = span == 0 ? 0.5 : (value - range.Min) / span;
        return t < 0.6;
    }
}
