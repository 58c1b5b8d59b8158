using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using Service.Inference.Demo;
using Service.Inference.Models;
using Service.Inference.Projection;
using TorchSharp;

namespace Service.Tests.Inference.Projection;

/// <summary>Two replicas on one cache directory: a PUT or DELETE on one is seen by the other within 5 s, without a restart.</summary>
public sealed class CacheCoherenceTests
{
    static readonly MaskedLmBundle Demo = DemoMaskedLm.Create(torch.CPU, torch.ScalarType.Float32);
    static readonly TimeSpan Bound = TimeSpan.FromSeconds(5);

    static float[][] Layers(float value) =>
        [.. Enumerable.Range(0, Demo.Model.LayerCount + 1).Select(_ => Enumerable.Repeat(value, Demo.Model.HiddenSize).ToArray())];

    static ProjectionService Replica(string directory, bool watch = true) =>
        new(Demo, new ProjectionOptions { CacheDirectory = directory, RescanSeconds = 1, WatchCache = watch }, NullLogger.Instance);

    /// <summary>Polls until <paramref name="seen"/> holds; fails past the bound. Returns how long it took.</summary>
    static async Task<TimeSpan> Within(Func<bool> seen, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!seen())
        {
            Assert.True(clock.Elapsed < Bound, $"the other replica did not see {what} within {Bound.TotalSeconds} s");
            await Task.Delay(50);
        }
        return clock.Elapsed;
    }

    [Fact]
    public async Task A_put_and_a_delete_on_one_replica_reach_the_other_without_a_restart()
    {
        var directory = Directory.CreateTempSubdirectory("lrp2-replicas-").FullName;
        using var a = Replica(directory);
        using var b = Replica(directory);

        a.Store("fr", ["une phrase"], Layers(1));
        Assert.Equal(1f, b.Get("fr")!.Layers[0][0]); // b loads it and now serves it from memory

        a.Store("fr", ["une autre phrase"], Layers(2));
        await Within(() => b.Get("fr")?.Layers[0][0] == 2f, "a replaced vector");

        a.Delete("fr");
        await Within(() => b.Get("fr") is null, "a delete");
        Assert.DoesNotContain("fr", b.List().Select(v => v.Language));

        b.Store("de", ["ein Satz"], Layers(3));
        Assert.Equal(3f, a.Get("de")!.Layers[0][0]);
    }

    [Fact]
    public async Task The_periodic_re_scan_alone_notices_a_change_when_no_watcher_event_comes()
    {
        var directory = Directory.CreateTempSubdirectory("lrp2-replicas-").FullName;
        using var a = Replica(directory);
        a.Store("fr", ["une phrase"], Layers(1));
        using var b = Replica(directory, watch: false); // as on a network volume, where no event arrives
        Assert.NotNull(b.Get("fr"));
        // The file rewritten in place with other vectors: only its content (the stamp) differs.
        var elsewhere = Directory.CreateTempSubdirectory("lrp2-elsewhere-").FullName;
        using (var other = Replica(elsewhere)) other.Store("fr", ["une autre phrase"], Layers(2));
        var target = Path.Combine(directory, Demo.Fingerprint, "fr.lrp2");
        // Truncated and rewritten (the metadata's timestamp makes the two files differ in length).
        await File.WriteAllBytesAsync(target, await File.ReadAllBytesAsync(Path.Combine(elsewhere, Demo.Fingerprint, "fr.lrp2")));
        await Within(() => b.Get("fr")?.Layers[0][0] == 2f, "a file changed in place");
    }
}
