using System.Net;
using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Service.Inference.FillMask;
using Service.Inference.Hosting;
using Service.Tests.Support;

namespace Service.Tests.Api.Errors;

/// <summary>
/// Admission control and draining, made deterministic by holding the model host: a job that waits on a
/// gate occupies the host thread, so every request is either refused at once (429) or admitted and waiting.
/// </summary>
public sealed class OverloadTests
{
    static ServiceFactory SmallQueues() => new(new Dictionary<string, string?>
    {
        ["Host:QueueCapacity"] = "2",
        ["FillMask:Batching:MaxWaiting"] = "3",
        ["Security:RateLimit:TokenLimit"] = "0",
    });

    /// <summary>Occupies the host thread until the returned gate is set.</summary>
    static async Task<(ManualResetEventSlim Gate, Task Held)> Hold(ModelHost host)
    {
        var gate = new ManualResetEventSlim();
        using var running = new ManualResetEventSlim();
        var held = host.RunAsync(_ => { running.Set(); gate.Wait(); return 0; });
        await Task.Run(running.Wait);
        return (gate, held);
    }

    static void WaitUntil(Func<bool> condition) =>
        Assert.True(SpinWait.SpinUntil(condition, TimeSpan.FromSeconds(60)), "the requests did not settle");

    [Fact]
    public async Task Many_concurrent_clients_get_only_200_or_429_and_every_admitted_request_completes()
    {
        using var factory = SmallQueues();
        var client = await factory.StartedClient();
        var host = factory.Services.GetRequiredService<ModelHost>();
        var batcher = factory.Services.GetRequiredService<FillMaskBatcher>();

        // Fill-mask: the batcher admits MaxWaiting queries behind one drain job in the host queue.
        await Flood(host, clients: 40, admitted: 3, waiting: () => batcher.WaitingCount,
            i => client.PostAsJsonAsync("/v1/fill-mask", new { text = $"Query {i} is about [MASK]." }));
        // Jobs straight on the host queue (language vectors): Host:QueueCapacity are admitted.
        await Flood(host, clients: 20, admitted: 2, waiting: () => host.QueueLength,
            _ => client.PutAsJsonAsync("/v1/language-vectors/fr", new { sentences = new[] { "Paris est la capitale de la France." } }));

        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/ready")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsJsonAsync("/v1/fill-mask", new { text = "Still [MASK]." })).StatusCode);
    }

    /// <summary>
    /// Holds the host, sends <paramref name="clients"/> requests at once and waits until each is either
    /// answered or counted by <paramref name="waiting"/>; the answered ones must be 429 with Retry-After.
    /// After the release, the admitted ones must all succeed.
    /// </summary>
    static async Task Flood(ModelHost host, int clients, int admitted, Func<int> waiting, Func<int, Task<HttpResponseMessage>> send)
    {
        var (gate, held) = await Hold(host);
        var requests = Enumerable.Range(0, clients).Select(send).ToList();
        WaitUntil(() => requests.Count(t => t.IsCompleted) + waiting() == clients);
        Assert.Equal(admitted, waiting());
        var refused = await Task.WhenAll(requests.Where(t => t.IsCompleted));
        Assert.Equal(clients - admitted, refused.Length);
        Assert.All(refused, r =>
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, r.StatusCode);
            Assert.True(r.Headers.RetryAfter?.Delta > TimeSpan.Zero, "429 without Retry-After");
        });
        gate.Set();
        await held;
        gate.Dispose();
        Assert.Equal(admitted, (await Task.WhenAll(requests)).Count(r => r.StatusCode == HttpStatusCode.OK));
    }

    [Fact]
    public async Task Shutdown_drains_a_request_in_flight()
    {
        using var factory = SmallQueues();
        var client = await factory.StartedClient();
        var host = factory.Services.GetRequiredService<ModelHost>();
        var batcher = factory.Services.GetRequiredService<FillMaskBatcher>();
        var (gate, held) = await Hold(host);
        using var _ = gate;
        var request = client.PostAsJsonAsync("/v1/fill-mask", new { text = "Paris is the capital of [MASK]." });
        WaitUntil(() => batcher.WaitingCount == 1);

        // What SIGTERM does to the model host (ModelHostLifetime.StopAsync). The whole IHost is not
        // stopped here: TestServer aborts in-flight requests on stop, where Kestrel lets them finish.
        var stopping = host.StopAsync();
        Assert.False(stopping.IsCompleted); // the model host waits for its queue to drain
        Assert.False(request.IsCompleted);
        gate.Set();
        await held;
        var response = await request;
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await stopping;
        Assert.Equal(HostState.Stopped, host.State);
    }
}
