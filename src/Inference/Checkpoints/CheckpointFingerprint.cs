using System.Security.Cryptography;

namespace Service.Inference.Checkpoints;

/// <summary>
/// A short identity of a checkpoint's weights: SHA-256 over config.json, each weight file's size,
/// its safetensors header, and 16 evenly spaced 64 KiB samples of its data. Two fine-tunes of one
/// architecture differ in the samples; hashing every byte of a 7B model at start-up would not pay.
/// </summary>
public static class CheckpointFingerprint
{
    const int Samples = 16, SampleBytes = 64 * 1024;

    public static string Of(CheckpointDirectory checkpoint)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        sha.AppendData(File.ReadAllBytes(checkpoint.File("config.json")));
        var buffer = new byte[SampleBytes];
        foreach (var path in checkpoint.Tensors.Values.Select(f => f.Path).Distinct().Order(StringComparer.Ordinal))
        {
            using var file = File.OpenRead(path);
            sha.AppendData(BitConverter.GetBytes(file.Length));
            for (int s = 0; s < Samples; s++)
            {
                // Sample 0 starts at offset 0 and so covers the header (names, dtypes, shapes).
                file.Position = Math.Max(0, file.Length - SampleBytes) * s / (Samples - 1);
                sha.AppendData(buffer, 0, file.ReadAtLeast(buffer, SampleBytes, throwOnEndOfStream: false));
            }
        }
        return Convert.ToHexStringLower(sha.GetHashAndReset())[..16];
    }
}
