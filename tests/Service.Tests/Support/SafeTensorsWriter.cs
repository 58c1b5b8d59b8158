using System.Text;
using System.Text.Json;
using Service.Inference.Checkpoints;

namespace Service.Tests.Support;

/// <summary>Writes safetensors files from raw tensor bytes, to build damaged or re-sharded checkpoints.</summary>
public static class SafeTensorsWriter
{
    public sealed record RawTensor(string DType, long[] Shape, byte[] Data);

    public static void Write(string path, IReadOnlyDictionary<string, RawTensor> tensors)
    {
        var header = new Dictionary<string, object>();
        long offset = 0;
        foreach (var (name, t) in tensors)
        {
            header[name] = new { dtype = t.DType, shape = t.Shape, data_offsets = new[] { offset, offset + t.Data.Length } };
            offset += t.Data.Length;
        }
        var json = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(header));
        using var stream = File.Create(path);
        stream.Write(BitConverter.GetBytes((long)json.Length));
        stream.Write(json);
        foreach (var t in tensors.Values) stream.Write(t.Data);
    }

    /// <summary>Every tensor of a checkpoint directory as raw bytes, in the stored dtype.</summary>
    public static Dictionary<string, RawTensor> ReadAll(string directory)
    {
        var checkpoint = CheckpointDirectory.Open(directory);
        var result = new Dictionary<string, RawTensor>();
        foreach (var (name, file) in checkpoint.Tensors)
        {
            var e = file.Entries[name];
            using var stream = File.OpenRead(file.Path);
            var prefix = new byte[8];
            stream.ReadExactly(prefix);
            stream.Position = 8 + BitConverter.ToInt64(prefix) + e.Begin;
            var data = new byte[e.End - e.Begin];
            stream.ReadExactly(data);
            result[name] = new RawTensor(e.DType, e.Shape, data);
        }
        return result;
    }
}
