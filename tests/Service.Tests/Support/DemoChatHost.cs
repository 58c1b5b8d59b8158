using Microsoft.Extensions.Logging.Abstractions;
using Service.Benchmarks;
using Service.Inference.Chat;
using Service.Inference.Demo;
using Service.Inference.FillMask;
using Service.Inference.Generation;
using Service.Inference.Hosting;
using Service.Inference.Projection;
using TorchSharp;

namespace Service.Tests.Support;

/// <summary>
/// A started model host with the demo chat model (a Llama with grouped-query attention, ChatML), for scheduler
/// tests: the reply a request gets alone from the plain generation loop (<see cref="GenerationLoop"/>, no batch, no
/// cache) is their reference, and <see cref="BlockHost"/> lets submissions pile up before a step runs.
/// </summary>
public sealed class DemoChatHost : IDisposable
{
    public ModelHost Host { get; }

    public DemoChatHost()
    {
        Host = new ModelHost(
            () => new LoadedModels(DemoMaskedLm.Create(torch.CPU, torch.ScalarType.Float32), new FillMaskOptions(),
                new ProjectionOptions { CacheDirectory = Directory.CreateTempSubdirectory().FullName }, NullLogger.Instance,
                DemoChatModel.Create(torch.CPU, torch.ScalarType.Float32, "chatml"), new ChatOptions()),
            new ModelHostOptions { QueueCapacity = 16 },
            NullLogger<ModelHost>.Instance);
        Host.Start();
        Host.Loaded.Wait();
    }

    public ChatEngine Engine => Host.Models.Chat!;

    /// <summary>The reply of <paramref name="query"/> from the plain generation loop, on the host thread.</summary>
    public Task<GenerationResult> Alone(ChatQuery query) => Host.RunAsync(m => m.Chat!.Generate(m.Chat!.Prepare(query), _ => { }, CancellationToken.None));

    /// <summary>Holds the host thread until the returned gate is set, so submissions pile up meanwhile.</summary>
    public ManualResetEventSlim BlockHost()
    {
        var gate = new ManualResetEventSlim();
        using var running = new ManualResetEventSlim();
        _ = Host.RunAsync(_ => { running.Set(); gate.Wait(); return 0; });
        running.Wait();
        return gate;
    }

    public static void AssertSame(GenerationResult expected, GenerationResult actual)
    {
        Assert.Equal(expected.Text, actual.Text);
        Assert.Equal(expected.CompletionTokens, actual.CompletionTokens);
        Assert.Equal(expected.FinishReason, actual.FinishReason);
    }

    public void Dispose() => Host.Dispose();
}
