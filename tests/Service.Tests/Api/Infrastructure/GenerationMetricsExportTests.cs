using System.Net;
using System.Net.Http.Json;
using Service.Tests.Support;

namespace Service.Tests.Api.Infrastructure;

/// <summary>The generation counters recorded inside Inference reach /metrics.</summary>
public sealed class GenerationMetricsExportTests(ServiceFixture service) : IClassFixture<ServiceFixture>
{
    [Fact]
    public async Task Finished_generations_and_their_tokens_are_exported_by_finish_reason()
    {
        var reply = await service.Client.PostAsJsonAsync("/v1/chat/completions",
            new { model = "demo-tiny-llama", messages = new[] { new { role = "user", content = "hi" } }, max_tokens = 3, temperature = 0 });
        Assert.Equal(HttpStatusCode.OK, reply.StatusCode);
        var usage = (await reply.Content.ReadFromJsonAsync<Service.Contracts.ChatCompletion>())!.Usage;
        var lines = (await service.Client.GetStringAsync("/metrics")).Split('\n');
        double Sum(string name) => lines.Where(l => l.StartsWith(name + "{finish_reason=", StringComparison.Ordinal))
            .Sum(l => double.Parse(l[(l.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture));
        Assert.True(Sum("inference_generations_total") >= 1);
        Assert.True(Sum("inference_generation_tokens_by_finish_reason_total") >= usage.CompletionTokens);
    }
}
