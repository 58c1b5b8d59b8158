using ScottPlot;

namespace Service.Benchmarks;

/// <summary>One line of a chart: a y value per x category.</summary>
public sealed record ChartSeries(string Name, double[] Values, (byte R, byte G, byte B) Color, bool Dashed = false);

/// <summary>One panel: x categories (e.g. concurrency 1, 4, 16) evenly spaced, y from zero.</summary>
public sealed record ChartPanel(string Title, string XLabel, string YLabel, string[] Categories, IReadOnlyList<ChartSeries> Series);

/// <summary>Line charts as a PNG with ScottPlot: panels side by side, each with axes, tick labels and a legend.</summary>
public static class LineChartPng
{
    const int PanelWidth = 560, Height = 470;

    public static byte[] Render(IReadOnlyList<ChartPanel> panels)
    {
        var figure = new Multiplot { Layout = new ScottPlot.MultiplotLayouts.Columns() };
        figure.Reset(Plot(panels[0])); // a new Multiplot holds one empty plot: replace it
        foreach (var panel in panels.Skip(1)) figure.AddPlot(Plot(panel));
        return figure.Render(PanelWidth * panels.Count, Height).GetImageBytes(ImageFormat.Png);
    }

    static Plot Plot(ChartPanel panel)
    {
        var plot = new Plot();
        double[] xs = [.. Enumerable.Range(0, panel.Categories.Length).Select(i => (double)i)];
        foreach (var series in panel.Series)
        {
            var line = plot.Add.Scatter(xs, series.Values);
            line.LegendText = series.Name;
            line.Color = new Color(series.Color.R, series.Color.G, series.Color.B);
            line.LineWidth = 2;
            line.MarkerSize = series.Dashed ? 0 : 7;
            if (series.Dashed) line.LinePattern = LinePattern.Dashed;
        }
        var ticks = new ScottPlot.TickGenerators.NumericManual();
        for (int i = 0; i < panel.Categories.Length; i++) ticks.AddMajor(i, panel.Categories[i]);
        plot.Axes.Bottom.TickGenerator = ticks;
        double top = panel.Series.SelectMany(s => s.Values).Where(double.IsFinite).DefaultIfEmpty(1).Max();
        plot.Axes.SetLimits(-0.3, Math.Max(0, panel.Categories.Length - 1) + 0.3, 0, top > 0 ? top * 1.15 : 1);
        plot.Title(panel.Title);
        plot.XLabel(panel.XLabel);
        plot.YLabel(panel.YLabel);
        plot.ShowLegend(Edge.Bottom); // below the axes, where it covers no line
        return plot;
    }
}
