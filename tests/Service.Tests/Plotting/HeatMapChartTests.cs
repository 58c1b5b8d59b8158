using Service.Plotting;
using SkiaSharp;

namespace Service.Tests.Plotting;

public sealed class HeatMapChartTests
{
    // Viridis's ends: dark purple for the lowest value, yellow for the highest.
    static readonly SKColor Lowest = new(68, 1, 84), Highest = new(253, 231, 37);

    static int Near(SKBitmap image, SKColor color) =>
        image.Pixels.Count(p => Math.Abs(p.Red - color.Red) + Math.Abs(p.Green - color.Green) + Math.Abs(p.Blue - color.Blue) < 30);

    [Fact]
    public void Cells_take_the_colour_scale_and_empty_cells_stay_white()
    {
        var values = new double?[4, 4];
        values[0, 1] = 0; values[0, 2] = 10; values[0, 3] = 100; values[2, 3] = 50;
        using var image = SKBitmap.Decode(HeatMapChart.Render(new HeatMap("Trans", "i", "j", "Trans (%)", values, (1, 4)), 600, 500));
        Assert.Equal((600, 500), (image.Width, image.Height));
        // one cell of the 4 x 4 data area is about 110 x 110 pixels; the colour bar adds a thin strip of each colour
        Assert.InRange(Near(image, Highest), 5_000, 20_000);
        Assert.InRange(Near(image, Lowest), 5_000, 20_000);
        Assert.True(Near(image, SKColors.White) > Near(image, Highest) * 5, "the 12 empty cells are white");
    }

    [Fact]
    public void A_map_whose_cells_are_all_equal_renders_and_one_without_values_is_refused()
    {
        var equal = new double?[3, 3];
        equal[0, 1] = equal[0, 2] = equal[1, 2] = 25;
        Assert.NotEmpty(HeatMapChart.Render(new HeatMap("t", "i", "j", "v", equal)));
        Assert.Throws<ArgumentException>(() => HeatMapChart.Render(new HeatMap("t", "i", "j", "v", new double?[2, 2])));
    }
}
