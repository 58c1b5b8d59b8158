using Microsoft.Extensions.Logging.Abstractions;
using Service.Inference.Projection;
using Service.Tests.Support;

namespace Service.Tests.Inference.Projection;

public sealed class LanguageVectorStoreTests
{
    static LanguageVectors Sample(string fingerprint = "model-a") =>
        new("fr", "tiny", fingerprint, 3, LanguageVectors.Digest(["a", "b", "c"]), DateTimeOffset.Parse("2026-11-23T00:00:00Z"),
            [[1f, -2.5f, 3.25f], [0.125f, 1e-7f, -0f], [float.Epsilon, 7f, 8f]]);

    static string TempDir() => Directory.CreateTempSubdirectory("lrp2-cache-").FullName;

    [Fact]
    public void Vectors_round_trip_exactly_and_leave_no_temporary_files()
    {
        var dir = TempDir();
        var store = new LanguageVectorStore(dir, "model-a", NullLogger.Instance);
        store.Save(Sample());
        var loaded = store.Load("fr")!;
        Assert.Equal(Sample().Layers, loaded.Layers);
        Assert.Equal(Sample() with { Layers = loaded.Layers }, loaded);
        Assert.Equal(["fr"], store.Languages());
        Assert.Single(Directory.GetFiles(dir, "*", SearchOption.AllDirectories)); // no *.tmp left behind
    }

    [Fact]
    public void A_corrupt_file_is_detected_and_not_used()
    {
        var dir = TempDir();
        var store = new LanguageVectorStore(dir, "model-a", NullLogger.Instance);
        store.Save(Sample());
        var file = Directory.GetFiles(dir, "fr.lrp2", SearchOption.AllDirectories).Single();
        var bytes = File.ReadAllBytes(file);
        bytes[^40] ^= 0x01; // one bit of the vector data
        File.WriteAllBytes(file, bytes);
        Assert.Null(store.Load("fr"));
        File.WriteAllBytes(file, bytes[..(bytes.Length / 2)]); // truncated
        Assert.Null(store.Load("fr"));
    }

    [Fact]
    public void Vectors_of_another_model_are_not_used()
    {
        var dir = TempDir();
        new LanguageVectorStore(dir, "model-a", NullLogger.Instance).Save(Sample("model-a"));
        var other = new LanguageVectorStore(dir, "model-b", NullLogger.Instance);
        Assert.Null(other.Load("fr")); // different directory per model
        // a file copied by hand into the other model's directory is refused by its recorded fingerprint
        Directory.CreateDirectory(Path.Combine(dir, "model-b"));
        File.Copy(Path.Combine(dir, "model-a", "fr.lrp2"), Path.Combine(dir, "model-b", "fr.lrp2"));
        Assert.Null(other.Load("fr"));
    }

    [Fact]
    public void Saving_again_replaces_the_file_atomically()
    {
        var dir = TempDir();
        var store = new LanguageVectorStore(dir, "model-a", NullLogger.Instance);
        store.Save(Sample());
        store.Save(Sample() with { SentenceCount = 99 });
        Assert.Equal(99, store.Load("fr")!.SentenceCount);
        Assert.True(store.Delete("fr"));
        Assert.Null(store.Load("fr"));
        Assert.False(store.Delete("fr"));
    }
}
