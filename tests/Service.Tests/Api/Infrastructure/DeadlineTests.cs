using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Service.Inference.Hosting;
using Service.Tests.Support;

namespace Service.Tests.Api.Infrastructure;

public sealed class DeadlineTests
{
    [Fact]
    public async Task A_request_past_its_deadline_gets_504_and_its_queued_work_is_skipped()
    {
        using var factory = new ServiceFactory(new Dictionary<string, string?> { ["Host:RequestTimeoutSeconds"] = "1" });
        var client = await factory.StartedClient();
        var host = factory.Services.GetRequiredService<ModelHost>();
        using var gate = new ManualResetEventSlim();
        using var running = new ManualResetEventSlim();
        var held = host.RunAsync(_ => { running.Set(); gate.Wait(); return 0; });
        await Task.Run(running.Wait);

        // The host is held, so the query can only wait; the deadline (1 s) is what ends it.
        var response = await client.PostAsJsonAsync("/v1/fill-mask", new { text = "Paris is the capital of [MASK]." });
        Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Contains("Host:RequestTimeoutSeconds", problem.RootElement.GetProperty("detail").GetString());

        gate.Set();
        await held;
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsJsonAsync("/v1/fill-mask", new { text = "Still [MASK]." })).StatusCode);
    }
}
