using System.Buffers.Binary;
using System.IO.Compression;
using Service.Inference.Probes;

namespace Service.Tests.Probes;

public sealed class LayerSearchTests
{
    static PairScore Pair(int i, int j, double? trans, double acc) => new(i, j, new LanguageScores("fr", 10, (int)(acc / 10), acc, trans));

    [Fact]
    public void The_best_pair_has_the_highest_trans_then_acc()
    {
        var scores = new[] { Pair(1, 2, 40, 50), Pair(1, 3, 60, 20), Pair(2, 3, 60, 30), Pair(3, 4, null, 90) };
        Assert.Equal((2, 3), (LayerSearch.Best(scores).Lirp, LayerSearch.Best(scores).Lsrp));
    }

    [Fact]
    public void The_heat_map_is_a_valid_png_of_one_cell_per_pair()
    {
        var grid = LayerSearch.TransGrid([Pair(1, 2, 10, 0), Pair(1, 3, 50, 0), Pair(2, 3, 90, 0)], layerCount: 3);
        Assert.Null(grid[1, 0]);                  // i >= j has no value
        Assert.Equal(90, grid[1, 2]);
        var png = HeatMapPng.Render(grid);
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, png[..4]);
        Assert.Equal(3 * 20 + 1, BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(16)));   // IHDR width
        Assert.Equal(3 * 20 + 1, BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(20)));   // IHDR height
        // the image data inflates to height rows of (filter byte + RGB pixels)
        int idat = png.AsSpan().IndexOf("IDAT"u8);
        int length = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(idat - 4));
        using var inflate = new ZLibStream(new MemoryStream(png, idat + 4, length), CompressionMode.Decompress);
        using var pixels = new MemoryStream();
        inflate.CopyTo(pixels);
        Assert.Equal(61 * (1 + 61 * 3), pixels.Length);
    }
}
