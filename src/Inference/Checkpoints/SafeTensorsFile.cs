using System.Buffers.Binary;
using System.Text.Json;
using TorchSharp;
using static TorchSharp.torch;

namespace Service.Inference.Checkpoints;

/// <summary>One tensor's entry in a safetensors header.</summary>
public sealed record SafeTensorEntry(string Name, string DType, long[] Shape, long Begin, long End);

/// <summary>
/// Reads a .safetensors file: 8-byte little-endian header length, a JSON header mapping names to
/// dtype, shape and byte offsets, then the raw little-endian data. Tensors are read one at a time,
/// in chunks, into their destination.
/// </summary>
public sealed class SafeTensorsFile
{
    const long MaxHeaderBytes = 100_000_000;
    /// <summary>Bytes read per call, and the size of the staging tensor when the dtype or device differs.</summary>
    public const long ChunkBytes = 64L << 20;

    public string Path { get; }
    public IReadOnlyDictionary<string, SafeTensorEntry> Entries { get; }
    readonly long _dataStart;

    SafeTensorsFile(string path, Dictionary<string, SafeTensorEntry> entries, long dataStart)
    {
        Path = path;
        Entries = entries;
        _dataStart = dataStart;
    }

    public static SafeTensorsFile Open(string path)
    {
        using var stream = File.OpenRead(path);
        Span<byte> prefix = stackalloc byte[8];
        if (stream.Length < 8 || stream.ReadAtLeast(prefix, 8, throwOnEndOfStream: false) < 8)
            throw new CheckpointException($"{path} is not a safetensors file: it is shorter than its 8-byte header length.");
        long headerLength = BinaryPrimitives.ReadInt64LittleEndian(prefix);
        if (headerLength <= 0 || headerLength > MaxHeaderBytes || 8 + headerLength > stream.Length)
            throw new CheckpointException($"{path} is not a valid safetensors file: header length {headerLength} does not fit the file of {stream.Length} bytes.");
        var header = new byte[headerLength];
        stream.ReadExactly(header);
        var entries = ParseHeader(path, header);
        long dataLength = stream.Length - 8 - headerLength;
        foreach (var e in entries.Values)
        {
            long expected = ElementCount(e.Shape) * BytesPerElement(path, e);
            if (e.Begin < 0 || e.End > dataLength || e.End - e.Begin != expected)
                throw new CheckpointException(
                    $"{path}: tensor '{e.Name}' needs bytes [{e.Begin}, {e.End}) ({expected} for {e.DType} {Shape(e.Shape)}) but the file holds {dataLength} data bytes; the file is truncated or corrupt.");
        }
        return new SafeTensorsFile(path, entries, 8 + headerLength);
    }

    static Dictionary<string, SafeTensorEntry> ParseHeader(string path, byte[] header)
    {
        try
        {
            using var doc = JsonDocument.Parse(header);
            var entries = new Dictionary<string, SafeTensorEntry>(StringComparer.Ordinal);
            foreach (var property in doc.RootElement.EnumerateObject())
            {
                if (property.Name == "__metadata__") continue;
                var v = property.Value;
                var offsets = v.GetProperty("data_offsets");
                entries[property.Name] = new SafeTensorEntry(
                    property.Name,
                    v.GetProperty("dtype").GetString() ?? "",
                    v.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()).ToArray(),
                    offsets[0].GetInt64(),
                    offsets[1].GetInt64());
            }
            return entries;
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new CheckpointException($"{path}: the safetensors header is not valid JSON of the expected shape ({e.Message}).");
        }
    }

    /// <summary>Reads one tensor in its stored dtype on the CPU; the caller disposes it.</summary>
    public Tensor Read(string name)
    {
        var e = Entries[name];
        var tensor = torch.empty(e.Shape, StoredType(Path, e));
        try
        {
            ReadInto(name, tensor);
            return tensor;
        }
        catch
        {
            tensor.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Reads one tensor into <paramref name="target"/> (same element count), converting dtype and
    /// device. A contiguous CPU target of the stored dtype receives the file's bytes directly; any
    /// other goes through a staging tensor of at most <see cref="ChunkBytes"/>. No managed buffer and
    /// no full-size temporary: loading holds the weights plus one chunk, not twice the largest tensor.
    /// </summary>
    /// <param name="chunkBytes">Bytes per read (tests use small ones to cross chunk boundaries).</param>
    public void ReadInto(string name, Tensor target, long chunkBytes = ChunkBytes)
    {
        var e = Entries[name];
        var stored = StoredType(Path, e);
        long elements = ElementCount(e.Shape);
        if (elements != target.numel())
            throw new ArgumentException($"'{name}' has {elements} elements but the target has {target.numel()}.", nameof(target));
        if (elements == 0) return;
        long perElement = BytesPerElement(Path, e);
        long chunk = Math.Max(1, chunkBytes / perElement);
        // Unbuffered: each read goes from the page cache straight into tensor memory.
        using var stream = new FileStream(Path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0, FileOptions.SequentialScan);
        stream.Position = _dataStart + e.Begin;
        if (!target.is_contiguous())
        {
            // A strided target (a weight stored column-major for its kernel) is filled a block of rows
            // of its first dimension at a time through the staging chunk, never through a full-size copy.
            long rows = target.shape[0], perRow = elements / rows, rowsPerChunk = Math.Max(1, chunk / perRow);
            using var rowStaging = torch.empty(Math.Min(rowsPerChunk, rows) * perRow, stored);
            for (long row = 0; row < rows; row += rowsPerChunk)
            {
                long count = Math.Min(rowsPerChunk, rows - row);
                using var part = rowStaging.narrow(0, 0, count * perRow);
                stream.ReadExactly(part.bytes);
                using var destination = target.narrow(0, row, count);
                using var source = part.view(destination.shape);
                destination.copy_(source);
            }
            return;
        }
        using var flat = target.view(-1);
        bool direct = target.device_type == DeviceType.CPU && target.dtype == stored;
        using var staging = direct ? null : torch.empty(Math.Min(chunk, elements), stored);
        for (long start = 0; start < elements; start += chunk)
        {
            long count = Math.Min(chunk, elements - start);
            using var destination = flat.narrow(0, start, count);
            if (direct)
            {
                stream.ReadExactly(destination.bytes);
                continue;
            }
            using var part = staging!.narrow(0, 0, count);
            stream.ReadExactly(part.bytes);
            destination.copy_(part); // converts dtype and moves to the device
        }
    }

    public static string Shape(long[] shape) => "[" + string.Join(", ", shape) + "]";

    static long ElementCount(long[] shape) => shape.Aggregate(1L, (a, b) => a * b);

    static long BytesPerElement(string path, SafeTensorEntry e) => StoredType(path, e) switch
    {
        ScalarType.Float64 or ScalarType.Int64 => 8,
        ScalarType.Float32 or ScalarType.Int32 => 4,
        ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Int16 => 2,
        _ => 1,
    };

    static ScalarType StoredType(string path, SafeTensorEntry e) => e.DType switch
    {
        "F32" => ScalarType.Float32,
        "F16" => ScalarType.Float16,
        "BF16" => ScalarType.BFloat16,
        "F64" => ScalarType.Float64,
        "I64" => ScalarType.Int64,
        "I32" => ScalarType.Int32,
        "I16" => ScalarType.Int16,
        "I8" => ScalarType.Int8,
        "U8" => ScalarType.Byte,
        "BOOL" => ScalarType.Bool,
        _ => throw new CheckpointException($"{path}: tensor '{e.Name}' has dtype {e.DType}, which this service does not read (F32, F16, BF16, F64 and integer types are supported)."),
    };
}
