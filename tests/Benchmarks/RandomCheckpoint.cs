using System.Text;
using System.Text.Json;
using TorchSharp;
using static TorchSharp.torch;

namespace Service.Benchmarks;

/// <summary>
/// Writes a Hugging Face-format checkpoint with random float32 weights: the tensor names and shapes
/// come from the model's own state dict (built on the meta device), so the real loader reads it.
/// Tensors are generated and written one at a time; memory never holds the whole checkpoint.
/// </summary>
public static class RandomCheckpoint
{
    public sealed record Tensor(string Name, long[] Shape)
    {
        public long Elements => Shape.Aggregate(1L, (a, b) => a * b);
    }

    /// <summary>Keys and shapes of a module's state dict, sorted by name.</summary>
    public static IReadOnlyList<Tensor> StateDictOf(nn.Module module) =>
        [.. module.state_dict().OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => new Tensor(p.Key, p.Value.shape))];

    /// <summary>Writes model.safetensors (float32): norms' weights one, biases zero, every other tensor N(0, 0.02).</summary>
    public static long WriteSafeTensors(string path, IReadOnlyList<Tensor> tensors, long seed = 1234)
    {
        var header = new Dictionary<string, object>();
        long offset = 0;
        foreach (var t in tensors)
        {
            long bytes = t.Elements * sizeof(float);
            header[t.Name] = new { dtype = "F32", shape = t.Shape, data_offsets = new[] { offset, offset + bytes } };
            offset += bytes;
        }
        var json = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(header));
        using var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
        stream.Write(BitConverter.GetBytes((long)json.Length));
        stream.Write(json);
        torch.manual_seed(seed);
        foreach (var t in tensors)
        {
            using var scope = torch.NewDisposeScope();
            var values = IsNormWeight(t.Name) ? torch.ones(t.Shape)
                : t.Name.EndsWith(".bias", StringComparison.Ordinal) ? torch.zeros(t.Shape)
                : torch.randn(t.Shape).mul_(0.02);
            values.WriteBytesToStream(stream, 1 << 20);
        }
        return offset;
    }

    static bool IsNormWeight(string name) =>
        name.EndsWith(".weight", StringComparison.Ordinal) && name.Split('.')[^2].Contains("norm", StringComparison.OrdinalIgnoreCase);

    public static void WriteJson(string path, object value) =>
        File.WriteAllText(path, JsonSerializer.Serialize(value, new JsonSerializerOptions { WriteIndented = true }));
}
