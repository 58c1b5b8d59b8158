using System.IO.Compression;

namespace Service.Inference.Imaging;

/// <summary>
/// Encodes an 8-bit RGB image as PNG with no imaging dependency: signature, IHDR, one zlib IDAT
/// (filter 0 on every row) and IEND, each chunk with its CRC-32. Used for report plots.
/// </summary>
public static class RgbPng
{
    /// <param name="rgb">Row-major pixels, 3 bytes each, <paramref name="width"/> x <paramref name="height"/>.</param>
    public static byte[] Encode(int width, int height, byte[] rgb)
    {
        if (rgb.Length != width * height * 3) throw new ArgumentException("rgb must hold width x height x 3 bytes", nameof(rgb));
        var raw = new byte[height * (1 + width * 3)];
        for (int y = 0; y < height; y++) Array.Copy(rgb, y * width * 3, raw, y * (1 + width * 3) + 1, width * 3); // filter byte 0 = none
        using var png = new MemoryStream();
        png.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
        var header = new byte[13];
        BigEndian(header, 0, width);
        BigEndian(header, 4, height);
        header[8] = 8; // bits per channel
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
