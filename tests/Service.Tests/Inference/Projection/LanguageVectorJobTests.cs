using Microsoft.Extensions.Logging.Abstractions;
using Service.Inference.Demo;
using Service.Inference.FillMask;
using Service.Inference.Hosting;
using Service.Inference.Projection;
using TorchSharp;

namespace Service.Tests.Inference.Projection;

/// <summary>A PUT's computation on the model host: in turns that let other work in, and cancellable without side effects.</summary>
public sealed class LanguageVectorJobTests
{
    static readonly string[] Sentences = [.. Enumerable.Range(0, 80).Select(i => $"Phrase numéro {i} de la ville de Paris.")];

    static async Task<ModelHost> StartedHost(string? directory = null)
    {
        directory ??= Directory.CreateTempSubdirectory("lrp2-jobs-").FullName;
        var host = new ModelHost(
            () => new LoadedModels(DemoMaskedLm.Create(torch.CPU, torch.ScalarType.Float32), new FillMaskOptions(),
                new ProjectionOptions { CacheDirectory = directory, RescanSeconds = 0 }, NullLogger.Instance),
            new ModelHostOptions { QueueCapacity = 16 }, NullLogger<ModelHost>.Instance);
        host.Start();
        await host.Loaded;
        Assert.Equal(HostState.Ready, host.State);
        return host;
    }

    /// <summary>Holds the model thread until released, so that the order of the queue is known.</summary>
    static (Task Blocker, ManualResetEventSlim Release) Block(ModelHost host)
    {
        var release = new ManualResetEventSlim();
        return (host.RunAsync(_ => release.Wait(TimeSpan.FromSeconds(30))), release);
    }

    [Fact]
    public async Task Other_work_runs_between_the_batches_of_a_computation()
    {
        using var host = await StartedHost();
        var (blocker, release) = Block(host);
        var compute = LanguageVectorJobs.ComputeAsync(host, "fr", Sentences);
        var other = host.RunAsync(_ => compute.IsCompleted); // queued behind the computation's first batch
        release.Set();
        Assert.False(await other, "the other job waited for the whole computation");
        var vectors = await compute;
        Assert.Equal(Sentences.Length, vectors.SentenceCount);
        var single = await host.RunAsync(models => LanguageVectorComputer.Compute(models.Probed, Sentences));
        Assert.Equal(single, vectors.Layers); // in turns or in one go: the same numbers
        await blocker;
    }

    [Fact]
    public async Task A_computation_cancelled_while_it_runs_changes_nothing()
    {
        var directory = Directory.CreateTempSubdirectory("lrp2-jobs-").FullName;
        using var host = await StartedHost(directory);
        var before = await LanguageVectorJobs.ComputeAsync(host, "fr", ["Une seule phrase."]);
        using var cancel = new CancellationTokenSource();
        var (blocker, release) = Block(host);
        var compute = LanguageVectorJobs.ComputeAsync(host, "fr", Sentences, cancel.Token);
        var canceller = host.RunAsync(_ => { cancel.Cancel(); return 0; }); // runs after the first batch, like a deadline mid-way
        release.Set();
        await canceller;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => compute);
        var after = host.Models.Projection.Get("fr")!;
        Assert.Equal(before, after);
        Assert.Equal(1, after.SentenceCount);
        var onDisk = new LanguageVectorStore(directory, host.Models.Probed.Fingerprint, NullLogger.Instance).Load("fr")!;
        Assert.Equal(before.Layers, onDisk.Layers);
        Assert.Equal(before.CorpusDigest, onDisk.CorpusDigest);
        await blocker;
    }
}
