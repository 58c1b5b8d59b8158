using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Service.Inference.Hosting;

namespace Service.Inference.Projection;

/// <summary>
/// Language vectors on disk under `{CacheDirectory}/{model fingerprint}/{language}.lrp2`, so vectors
/// of one model are never applied to another. Each file is written to a temporary name and renamed
/// (readers never see half a file) and ends with a SHA-256 of its contents, checked on every read:
/// a corrupt or foreign file is reported in the log and not used. That trailing hash is also the
/// file's <see cref="Stamp"/>, by which replicas sharing the directory notice each other's writes.
/// Write failures (unwritable directory, full disk) throw a Storage <see cref="InferenceException"/>
/// naming the directory, after removing the temporary file.
/// File layout: "LRP2VEC1" | int32 LE metadata length | metadata JSON | float32 LE [L+1, H] | SHA-256.
/// </summary>
public sealed class LanguageVectorStore(string directory, string modelFingerprint, ILogger log)
{
    static readonly byte[] Magic = "LRP2VEC1"u8.ToArray();
    const string Extension = ".lrp2";
    const string TemporaryExtension = ".tmp";
    const int HashLength = 32;

    /// <summary>Opens a new temporary file for writing; a seam so that tests can simulate a full disk.</summary>
    public Func<string, Stream> OpenWrite { get; init; } = path => new FileStream(path, FileMode.CreateNew, FileAccess.Write);

    /// <summary>Deletes a file; a seam so that tests can simulate a cache that refuses changes.</summary>
    public Action<string> DeleteFile { get; init; } = File.Delete;

    public string ModelDirectory => Path.Combine(directory, modelFingerprint);

    sealed record Metadata(string Language, string Model, string ModelFingerprint, int SentenceCount, string CorpusDigest,
        DateTimeOffset Created, int Layers, int HiddenSize);

    /// <summary>Stored vectors with the stamp (trailing hash, hex) of the file they came from.</summary>
    public sealed record Stored(LanguageVectors Vectors, string Stamp);

    /// <summary>Writes the vectors (replacing a language's earlier file); returns the new file's stamp.</summary>
    public string Save(LanguageVectors vectors)
    {
        if (vectors.ModelFingerprint != modelFingerprint)
            throw new InvalidOperationException("vectors of another model cannot be stored here");
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
        var hash = SHA256.HashData(body.GetBuffer().AsSpan(0, (int)body.Length));
        body.Write(hash);
        body.Position = 0;
        WriteAtomically(PathOf(vectors.Language), body);
        return Convert.ToHexStringLower(hash);
    }

    void WriteAtomically(string target, Stream content)
    {
        var temporary = target + $".{Environment.ProcessId}.{Guid.NewGuid():N}{TemporaryExtension}";
        try
        {
            Directory.CreateDirectory(ModelDirectory);
            using (var file = OpenWrite(temporary))
            {
                content.CopyTo(file);
                if (file is FileStream fs) fs.Flush(flushToDisk: true);
                else file.Flush();
            }
            File.Move(temporary, target, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            TryDelete(temporary);
            throw Unwritable(e);
        }
    }

    void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            log.LogWarning("Temporary file {Path} could not be removed: {Reason}", path, e.Message);
        }
    }

    InferenceException Unwritable(Exception e) => new(InferenceErrorKind.Storage,
        $"The language-vector cache {directory} cannot be written ({e.GetType().Name}: {e.Message}); nothing was changed, " +
        "and the vectors already loaded keep serving. Free space there or set Projection:CacheDirectory to a writable directory.");

    /// <summary>
    /// Removes temporary files left by writers that died mid-write. Only files older than
    /// <paramref name="age"/>: another replica sharing the directory may be writing one right now.
    /// </summary>
    public int RemoveStaleTemporaries(TimeSpan age)
    {
        int removed = 0;
        try
        {
            if (!Directory.Exists(ModelDirectory)) return 0;
            foreach (var file in Directory.EnumerateFiles(ModelDirectory, "*" + TemporaryExtension))
            {
                if (DateTime.UtcNow - File.GetLastWriteTimeUtc(file) < age) continue;
                TryDelete(file);
                removed += File.Exists(file) ? 0 : 1;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            log.LogWarning("Stale temporary files in {Directory} could not be listed: {Reason}", ModelDirectory, e.Message);
        }
        if (removed > 0) log.LogInformation("Removed {Count} stale temporary files from {Directory}", removed, ModelDirectory);
        return removed;
    }

    /// <summary>The stored vectors of a language, or null when there are none, the file fails its checks or cannot be read.</summary>
    public LanguageVectors? Load(string language) => LoadStamped(language)?.Vectors;

    /// <inheritdoc cref="Load"/>
    public Stored? LoadStamped(string language)
    {
        var path = PathOf(language);
        try
        {
            if (!File.Exists(path)) return null;
            var bytes = File.ReadAllBytes(path);
            return new Stored(Parse(bytes, language), Convert.ToHexStringLower(bytes.AsSpan(bytes.Length - HashLength)));
        }
        catch (InvalidDataException e)
        {
            log.LogError("Language vector file {Path} is not used: {Reason}", path, e.Message);
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            log.LogError("Language vector file {Path} cannot be read: {Reason}", path, e.Message);
            return null;
        }
    }

    /// <summary>
    /// The stamp of a language's file as it is on disk now: null when there is no file; throws
    /// IOException when the disk cannot say (the caller then keeps what it has).
    /// </summary>
    public string? Stamp(string language)
    {
        try
        {
            using var file = new FileStream(PathOf(language), FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            if (file.Length < HashLength) return "";
            var hash = new byte[HashLength];
            file.Position = file.Length - HashLength;
            file.ReadExactly(hash);
            return Convert.ToHexStringLower(hash);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
    }

    public IReadOnlyList<string> Languages()
    {
        try
        {
            return Directory.Exists(ModelDirectory)
                ? [.. Directory.GetFiles(ModelDirectory, "*" + Extension).Select(Path.GetFileNameWithoutExtension).OfType<string>().Order(StringComparer.Ordinal)]
                : [];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            log.LogError("The language-vector cache {Directory} cannot be listed: {Reason}", ModelDirectory, e.Message);
            return [];
        }
    }

    /// <summary>Best layer pairs found by a layer search on this model, if one was saved.</summary>
    public Dictionary<string, int[]> LoadSearchedLayers()
    {
        var path = Path.Combine(ModelDirectory, SearchedLayersFile);
        try
        {
            if (!File.Exists(path)) return [];
            return JsonSerializer.Deserialize<Dictionary<string, int[]>>(File.ReadAllBytes(path)) ?? [];
        }
        catch (Exception e) when (e is JsonException or IOException or UnauthorizedAccessException)
        {
            log.LogError("Saved layer search {Path} is not used: {Reason}", path, e.Message);
            return [];
        }
    }

    public void SaveSearchedLayers(IReadOnlyDictionary<string, int[]> layers)
    {
        using var content = new MemoryStream(JsonSerializer.SerializeToUtf8Bytes(layers, new JsonSerializerOptions { WriteIndented = true }));
        WriteAtomically(Path.Combine(ModelDirectory, SearchedLayersFile), content);
    }

    const string SearchedLayersFile = "searched-layers.json";

    /// <summary>Removes a language's file; false when there was none. Throws Storage when the cache cannot be changed.</summary>
    public bool Delete(string language)
    {
        var path = PathOf(language);
        try
        {
            if (!File.Exists(path)) return false;
            DeleteFile(path);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw Unwritable(e);
        }
    }

    string PathOf(string language) => Path.Combine(ModelDirectory, language + Extension);

    LanguageVectors Parse(byte[] bytes, string language)
    {
        const int hashLength = HashLength;
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
