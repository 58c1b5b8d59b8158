using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace Service.Inference.Projection;

/// <summary>
/// Language vectors on disk under `{CacheDirectory}/{model fingerprint}/{language}.lrp2`, so vectors
/// of one model are never applied to another. Each file is written to a temporary name and renamed
/// (readers never see half a file) and ends with a SHA-256 of its contents, checked on every read:
/// a corrupt or foreign file is reported in the log and not used.
/// File layout: "LRP2VEC1" | int32 LE metadata length | metadata JSON | float32 LE [L+1, H] | SHA-256.
/// </summary>
public sealed class LanguageVectorStore(string directory, string modelFingerprint, ILogger log)
{
    static readonly byte[] Magic = "LRP2VEC1"u8.ToArray();
    const string Extension = ".lrp2";

    string ModelDirectory => Path.Combine(directory, modelFingerprint);

    sealed record Metadata(string Language, string Model, string ModelFingerprint, int SentenceCount, string CorpusDigest,
        DateTimeOffset Created, int Layers, int HiddenSize);

    public void Save(LanguageVectors vectors)
    {
        if (vectors.ModelFingerprint != modelFingerprint)
            throw new InvalidOperationException("vectors of another model cannot be stored here");
        Directory.CreateDirectory(ModelDirectory);
        var meta = JsonSerializer.SerializeToUtf8Bytes(new Metadata(vectors.Language, vectors.Model, vectors.ModelFingerprint,
            vectors.SentenceCount, vectors.CorpusDigest, vectors.Created, vectors.Layers.Length, vectors.HiddenSize));
        using var body = new MemoryStream();
        body.Write(Magic);
        Span<byte> length = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(length, meta.Length);
        body.Write(length);
        body.Write(meta);
        foreach (var layer in vectors.Layers)
            foreach (var value in layer)
            {
                BinaryPrimitives.WriteSingleLittleEndian(length, value);
                body.Write(length);
            }
        body.Write(SHA256.HashData(body.GetBuffer().AsSpan(0, (int)body.Length)));

        var target = PathOf(vectors.Language);
        var temporary = target + $".{Environment.ProcessId}.{Guid.NewGuid():N}.tmp";
        using (var file = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write))
        {
            body.Position = 0;
            body.CopyTo(file);
            file.Flush(flushToDisk: true);
        }
        File.Move(temporary, target, overwrite: true);
    }

    /// <summary>The stored vectors of a language, or null when there are none or the file fails its checks.</summary>
    public LanguageVectors? Load(string language)
    {
        var path = PathOf(language);
        if (!File.Exists(path)) return null;
        try
        {
            return Parse(File.ReadAllBytes(path), language);
        }
        catch (InvalidDataException e)
        {
            log.LogError("Language vector file {Path} is not used: {Reason}", path, e.Message);
            return null;
        }
    }

    public IReadOnlyList<string> Languages() =>
        Directory.Exists(ModelDirectory)
            ? [.. Directory.GetFiles(ModelDirectory, "*" + Extension).Select(Path.GetFileNameWithoutExtension).OfType<string>().Order()]
            : [];

    /// <summary>Best layer pairs found by a layer search on this model, if one was saved.</summary>
    public Dictionary<string, int[]> LoadSearchedLayers()
    {
        var path = Path.Combine(ModelDirectory, SearchedLayersFile);
        if (!File.Exists(path)) return [];
        try
        {
            return JsonSerializer.Deserialize<Dictionary<string, int[]>>(File.ReadAllBytes(path)) ?? [];
        }
        catch (JsonException e)
        {
            log.LogError("Saved layer search {Path} is not used: {Reason}", path, e.Message);
            return [];
        }
    }

    public void SaveSearchedLayers(IReadOnlyDictionary<string, int[]> layers)
    {
        Directory.CreateDirectory(ModelDirectory);
        var path = Path.Combine(ModelDirectory, SearchedLayersFile);
        var temporary = path + $".{Guid.NewGuid():N}.tmp";
        File.WriteAllBytes(temporary, JsonSerializer.SerializeToUtf8Bytes(layers, new JsonSerializerOptions { WriteIndented = true }));
        File.Move(temporary, path, overwrite: true);
    }

    const string SearchedLayersFile = "searched-layers.json";

    public bool Delete(string language)
    {
        var path = PathOf(language);
        if (!File.Exists(path)) return false;
        File.Delete(path);
        return true;
    }

    string PathOf(string language) => Path.Combine(ModelDirectory, language + Extension);

    LanguageVectors Parse(byte[] bytes, string language)
    {
        const int hashLength = 32;
        if (bytes.Length < Magic.Length + 4 + hashLength || !bytes.AsSpan(0, Magic.Length).SequenceEqual(Magic))
            throw new InvalidDataException("it is not a language vector file");
        var content = bytes.AsSpan(0, bytes.Length - hashLength);
        if (!SHA256.HashData(content).AsSpan().SequenceEqual(bytes.AsSpan(bytes.Length - hashLength)))
            throw new InvalidDataException("its checksum does not match (the file is corrupt or truncated)");
        int metaLength = BinaryPrimitives.ReadInt32LittleEndian(content[Magic.Length..]);
        var meta = JsonSerializer.Deserialize<Metadata>(content.Slice(Magic.Length + 4, metaLength))
            ?? throw new InvalidDataException("its metadata is empty");
        if (meta.ModelFingerprint != modelFingerprint)
            throw new InvalidDataException($"it belongs to model {meta.Model} ({meta.ModelFingerprint}), not the loaded one");
        if (meta.Language != language)
            throw new InvalidDataException($"it holds language '{meta.Language}', not '{language}'");
        var data = content[(Magic.Length + 4 + metaLength)..];
        if (data.Length != meta.Layers * meta.HiddenSize * sizeof(float))
            throw new InvalidDataException("its vector data does not match its declared size");
        var layers = new float[meta.Layers][];
        for (int k = 0; k < meta.Layers; k++)
        {
            layers[k] = new float[meta.HiddenSize];
            for (int d = 0; d < meta.HiddenSize; d++)
                layers[k][d] = BinaryPrimitives.ReadSingleLittleEndian(data[((k * meta.HiddenSize + d) * sizeof(float))..]);
        }
        return new LanguageVectors(meta.Language, meta.Model, meta.ModelFingerprint, meta.SentenceCount, meta.CorpusDigest, meta.Created, layers);
    }
}
