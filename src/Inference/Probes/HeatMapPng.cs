using System.IO.Compression;

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
        var raw = new byte[height * (1 + width * 3)];
        for (int y = 0; y < height; y++)
        {
            int row = y * (1 + width * 3); // filter byte 0 = none
            for (int x = 0; x < width; x++)
            {
                (byte r, byte g, byte b) color = (y % Cell == 0 || x % Cell == 0) ? ((byte)200, (byte)200, (byte)200)
                    : values[y / Cell, x / Cell] is double v ? Ramp(high > low ? (v - low) / (high - low) : 1) : ((byte)255, (byte)255, (byte)255);
                raw[row + 1 + x * 3] = color.r;
                raw[row + 2 + x * 3] = color.g;
                raw[row + 3 + x * 3] = color.b;
            }
        }
        using var png = new MemoryStream();
        png.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
        var header = new byte[13];
        BigEndian(header, 0, width);
        BigEndian(header, 4, height);
        header[8] = 8; // bit depth
        header[9] = 2; // colour type: RGB
        Chunk(png, "IHDR", header);
        using (var compressed = new MemoryStream())
        {
            using (var zlib = new ZLibStream(compressed, CompressionLevel.Optimal, leaveOpen: true)) zlib.Write(raw);
            Chunk(png, "IDAT", compressed.ToArray());
        }
        Chunk(png, "IEND", []);
        return png.ToArray();
    }

    // Linear from (255, 255, 204) to (8, 48, 107): light yellow to dark blue.
    static (byte, byte, byte) Ramp(double t) =>
        ((byte)(255 + (8 - 255) * t), (byte)(255 + (48 - 255) * t), (byte)(204 + (107 - 204) * t));

    static void Chunk(Stream png, string type, byte[] data)
    {
        var length = new byte[4];
        BigEndian(length, 0, data.Length);
        png.Write(length);
        var typed = new byte[4 + data.Length];
        System.Text.Encoding.ASCII.GetBytes(type, 0, 4, typed, 0);
        data.CopyTo(typed, 4);
        png.Write(typed);
        var crc = new byte[4];
        BigEndian(crc, 0, (int)Crc32(typed));
        png.Write(crc);
    }

    static void BigEndian(byte[] target, int offset, int value)
    {
        target[offset] = (byte)(value >> 24);
        target[offset + 1] = (byte)(value >> 16);
        target[offset + 2] = (byte)(value >> 8);
        target[offset + 3] = (byte)value;
    }

    static uint Crc32(byte[] data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (var b in data)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++) crc = (crc & 1) != 0 ? 0xEDB88320 ^ (crc >> 1) : crc >> 1;
        }
        return ~crc;
    }
}
