using Microsoft.Extensions.Logging.Abstractions;
using Service.Inference;
using Service.Inference.Demo;
using Service.Inference.Hosting;
using Service.Inference.Models;
using Service.Inference.Projection;
using TorchSharp;

namespace Service.Tests.Inference.Projection;

/// <summary>The language-vector cache under disk faults: unwritable, full, refusing deletes, left-over temporaries, racing writers.</summary>
public sealed class LanguageVectorCacheFaultTests
{
    static readonly MaskedLmBundle Demo = DemoMaskedLm.Create(torch.CPU, torch.ScalarType.Float32);

    /// <summary>Not creatable even by root (CI runs as root, so permissions cannot make a directory unwritable).</summary>
    internal const string Unwritable = "/proc/self/lrp2-cache-cannot-exist";

    static string TempDir() => Directory.CreateTempSubdirectory("lrp2-faults-").FullName;

    static ProjectionService Service(string directory, LanguageVectorStore? store = null, double rescanSeconds = 0) =>
        new(Demo, new ProjectionOptions { CacheDirectory = directory, RescanSeconds = rescanSeconds }, NullLogger.Instance, store);

    static float[][] Layers(float value) =>
        [.. Enumerable.Range(0, Demo.Model.LayerCount + 1).Select(_ => Enumerable.Repeat(value, Demo.Model.HiddenSize).ToArray())];

    static string[] Files(string directory) => Directory.GetFiles(directory, "*", SearchOption.AllDirectories);

    [Fact]
    public void An_uncreatable_cache_directory_answers_Storage_naming_it_and_nothing_changes()
    {
        using var projection = Service(Unwritable);
        Assert.Empty(projection.List());
        var error = Assert.Throws<InferenceException>(() => projection.Store("fr", ["une phrase"], Layers(1)));
        Assert.Equal(InferenceErrorKind.Storage, error.Kind);
        Assert.Contains(Unwritable, error.Message);
        Assert.Contains("Projection:CacheDirectory", error.Message);
        Assert.Null(projection.Get("fr"));
    }

    sealed class FullDisk(Stream inner, int room) : Stream
    {
        int _written;
        public override void Write(byte[] buffer, int offset, int count)
        {
            if (_written + count > room) throw new IOException("No space left on device");
            inner.Write(buffer, offset, count);
            _written += count;
        }
        public override void Write(ReadOnlySpan<byte> buffer) => Write(buffer.ToArray(), 0, buffer.Length);
        protected override void Dispose(bool disposing)
        {
            if (disposing) inner.Dispose();
            base.Dispose(disposing);
        }
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => _written;
        public override long Position { get => _written; set => throw new NotSupportedException(); }
        public override void Flush() => inner.Flush();
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }

    [Fact]
    public void A_full_disk_keeps_the_served_vectors_and_leaves_no_temporary_file()
    {
        var directory = TempDir();
        bool full = false;
        var store = new LanguageVectorStore(directory, Demo.Fingerprint, NullLogger.Instance)
        {
            OpenWrite = path => full ? new FullDisk(new FileStream(path, FileMode.CreateNew), room: 100) : new FileStream(path, FileMode.CreateNew),
        };
        using var projection = Service(directory, store);
        projection.Store("fr", ["une phrase"], Layers(1));
        var before = Files(directory).Select(File.ReadAllBytes).ToArray();

        full = true;
        var error = Assert.Throws<InferenceException>(() => projection.Store("fr", ["une autre phrase"], Layers(2)));
        Assert.Equal(InferenceErrorKind.Storage, error.Kind);
        Assert.Contains(directory, error.Message);
        Assert.Contains("No space left", error.Message);
        Assert.Equal(1f, projection.Get("fr")!.Layers[0][0]); // the vectors served before still serve
        Assert.Equal(before, Files(directory).Select(File.ReadAllBytes).ToArray()); // the old file, no *.tmp beside it
        Assert.Throws<InferenceException>(() => projection.Store("de", ["ein Satz"], Layers(3)));
        Assert.Single(Files(directory));
        Assert.Null(projection.Get("de"));
    }

    [Fact]
    public void A_delete_the_disk_refuses_keeps_the_vectors_in_memory_and_on_disk()
    {
        var directory = TempDir();
        var store = new LanguageVectorStore(directory, Demo.Fingerprint, NullLogger.Instance)
        {
            DeleteFile = path => throw new UnauthorizedAccessException($"Access to the path '{path}' is denied."),
        };
        using var projection = Service(directory, store);
        projection.Store("fr", ["une phrase"], Layers(1));
        var error = Assert.Throws<InferenceException>(() => projection.Delete("fr"));
        Assert.Equal(InferenceErrorKind.Storage, error.Kind);
        Assert.True(projection.InMemory("fr"));
        Assert.Single(Files(directory));
    }

    [Fact]
    public void Stale_temporary_files_are_removed_at_start_up_and_fresh_ones_are_left_to_their_writer()
    {
        var directory = TempDir();
        using (var first = Service(directory)) first.Store("fr", ["une phrase"], Layers(1));
        var model = Path.GetDirectoryName(Files(directory).Single())!;
        var stale = Path.Combine(model, "de.lrp2.1.0a1b.tmp");
        var fresh = Path.Combine(model, "es.lrp2.1.2c3d.tmp");
        File.WriteAllBytes(stale, []);
        File.WriteAllBytes(fresh, []);
        File.SetLastWriteTimeUtc(stale, DateTime.UtcNow.AddHours(-1));

        using var restarted = Service(directory);
        Assert.False(File.Exists(stale));
        Assert.True(File.Exists(fresh)); // perhaps another replica's write in progress
        Assert.Equal(1f, restarted.Get("fr")!.Layers[0][0]);
    }

    [Fact]
    public void The_number_of_stored_languages_is_capped_and_replacing_one_is_still_allowed()
    {
        var directory = TempDir();
        using var projection = new ProjectionService(Demo, new ProjectionOptions { CacheDirectory = directory, MaxLanguages = 2, RescanSeconds = 0 }, NullLogger.Instance);
        projection.Store("en", ["a sentence"], Layers(1));
        projection.Store("fr", ["une phrase"], Layers(1));
        var error = Assert.Throws<InferenceException>(() => projection.Store("de", ["ein Satz"], Layers(1)));
        Assert.Equal(InferenceErrorKind.Conflict, error.Kind);
        Assert.Contains("Projection:MaxLanguages", error.Message);
        Assert.Equal(2, Files(directory).Length);
        projection.Store("fr", ["une autre phrase"], Layers(2));
        Assert.Equal(2f, projection.Get("fr")!.Layers[0][0]);
    }

    [Fact]
    public async Task Delete_racing_reads_leaves_memory_and_disk_in_agreement_after_every_round()
    {
        var directory = TempDir();
        using var projection = Service(directory);
        using var writer = Service(directory); // writes files the service under test has not loaded yet
        var file = () => File.Exists(Path.Combine(directory, Demo.Fingerprint, "fr.lrp2"));
        for (int round = 0; round < 300; round++)
        {
            writer.Store("fr", ["une phrase"], Layers(round)); // on disk only: the reads below load it while the delete runs
            using var start = new Barrier(4);
            var evict = Task.Run(() => { start.SignalAndWait(); projection.Delete("fr"); });
            var reads = Enumerable.Range(0, 3).Select(_ => Task.Run(() =>
            {
                start.SignalAndWait();
                for (int i = 0; i < 20; i++) projection.Get("fr");
            })).ToArray();
            await Task.WhenAll([evict, .. reads]);
            Assert.False(file(), $"round {round}: the file survived its delete");
            Assert.False(projection.InMemory("fr"), $"round {round}: vectors are in memory but their file is gone");
        }
    }
}
