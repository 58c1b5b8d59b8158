using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;
using Service.Inference;
using Service.Api.Infrastructure;
using Service.Inference.Demo;
using Service.Inference.FillMask;
using Service.Inference.Hosting;
using Service.Inference.Projection;
using TorchSharp;

namespace Service.Tests.Inference.Hosting;

/// <summary>A drain that outlasts the shutdown timeout ends cleanly: no exception out of the lifetime, queued work answered 503.</summary>
public sealed class ShutdownDrainTests
{
    [Fact]
    public async Task A_drain_past_the_shutdown_timeout_is_abandoned_without_an_exception()
    {
        var host = new ModelHost(
            () => new LoadedModels(DemoMaskedLm.Create(torch.CPU, torch.ScalarType.Float32), new FillMaskOptions(),
                new ProjectionOptions { CacheDirectory = Directory.CreateTempSubdirectory().FullName, RescanSeconds = 0 }, NullLogger.Instance),
            new ModelHostOptions { QueueCapacity = 8 }, NullLogger<ModelHost>.Instance);
        var lifetime = new ModelHostLifetime(host, new ConfigurationBuilder().Build(), NullLogger<ModelHostLifetime>.Instance);
        await lifetime.StartAsync(CancellationToken.None);
        await host.Loaded;
        using var release = new ManualResetEventSlim();
        using var running = new ManualResetEventSlim();
        var busy = host.RunAsync(_ => { running.Set(); return release.Wait(TimeSpan.FromSeconds(30)); });
        var queued = host.RunAsync(_ => 42);
        running.Wait(TimeSpan.FromSeconds(30));

        using var timeout = new CancellationTokenSource();
        timeout.Cancel(); // the shutdown timeout has passed
        await lifetime.StopAsync(timeout.Token); // before: TaskCanceledException, which aborted the process (exit 134)

        release.Set();
        Assert.True(await busy); // the running job finishes
        var error = await Assert.ThrowsAsync<InferenceException>(() => queued);
        Assert.Equal(InferenceErrorKind.NotReady, error.Kind);
        host.Dispose(); // returns: the model thread has ended
        Assert.Equal(HostState.Stopped, host.State);
    }
}
