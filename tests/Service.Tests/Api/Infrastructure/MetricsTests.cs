using System.Net;
using System.Net.Http.Json;
using System.Text.RegularExpressions;
using Service.Tests.Support;

namespace Service.Tests.Api.Infrastructure;

public sealed class MetricsTests
{
    /// <summary>The value of one sample line, 0 when absent (the registry is process-wide: compare before and after).</summary>
    static double Sample(string exposition, string series)
    {
        var line = exposition.Split('\n').FirstOrDefault(l => l.StartsWith(series + " ", StringComparison.Ordinal));
        return line is null ? 0 : double.Parse(line[(series.Length + 1)..], System.Globalization.CultureInfo.InvariantCulture);
    }

    [Fact]
    public async Task Metrics_count_requests_by_route_template_and_status_and_observe_batches_and_latency()
    {
        using var factory = new ServiceFactory();
        var client = await factory.StartedClient();
        var before = await client.GetStringAsync("/metrics");

        Assert.Equal(HttpStatusCode.OK, (await client.PostAsJsonAsync("/v1/fill-mask", new { text = "Paris is the capital of [MASK]." })).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await client.PostAsJsonAsync("/v1/fill-mask", new { text = "no mask" })).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/v1/language-vectors/qq")).StatusCode);

        var response = await client.GetAsync("/metrics");
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        var after = await response.Content.ReadAsStringAsync();
        double Delta(string series) => Sample(after, series) - Sample(before, series);

        Assert.Equal(1, Delta("""http_requests_total{route="/v1/fill-mask",method="POST",status="200"}"""));
        Assert.Equal(1, Delta("""http_requests_total{route="/v1/fill-mask",method="POST",status="400"}"""));
        Assert.Equal(1, Delta("""http_requests_total{route="/v1/language-vectors/{language}",method="GET",status="404"}"""));
        Assert.DoesNotContain("/v1/language-vectors/qq", after); // the template, never the path
        Assert.Equal(2, Delta("""http_request_duration_seconds_count{route="/v1/fill-mask",method="POST"}"""));
        Assert.Equal(1, Delta("inference_fill_mask_batch_size_count"));
        Assert.Equal(1, Delta("""inference_e2e_request_latency_seconds_count{task="fill-mask"}"""));
        Assert.Equal(9, Delta("""inference_prompt_tokens_total{task="fill-mask"}"""));
        Assert.Matches(new Regex(@"^inference_queue_size 0$", RegexOptions.Multiline), after);
        Assert.Matches(new Regex(@"^inference_fill_mask_waiting 0$", RegexOptions.Multiline), after);
        foreach (var name in new[] { "inference_time_to_first_token_seconds", "inference_inter_token_latency_seconds", "inference_generation_tokens_total" })
            Assert.Contains($"# TYPE {name} ", after); // declared for the chat routes, which feed them
    }

    [Fact]
    public async Task A_streamed_chat_completion_feeds_the_token_metrics()
    {
        using var factory = new ServiceFactory();
        var client = await factory.StartedClient();
        var before = await client.GetStringAsync("/metrics");
        var response = await client.PostAsJsonAsync("/v1/chat/completions", new
        {
            model = "demo-tiny-llama",
            messages = new[] { new { role = "user", content = "Hello" } },
            max_tokens = 6, temperature = 0, stream = true, stream_options = new { include_usage = true },
        });
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body);
        var events = body.Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        var usage = events.Select(e => e["data: ".Length..]).Where(d => d != "[DONE]")
            .Select(d => System.Text.Json.JsonDocument.Parse(d).RootElement)
            .Single(e => e.TryGetProperty("usage", out var u) && u.ValueKind == System.Text.Json.JsonValueKind.Object).GetProperty("usage");
        var after = await client.GetStringAsync("/metrics");
        double Delta(string series) => Sample(after, series) - Sample(before, series);

        Assert.Equal(1, Delta("""inference_time_to_first_token_seconds_count{task="chat"}"""));
        Assert.Equal(1, Delta("""inference_e2e_request_latency_seconds_count{task="chat"}"""));
        Assert.Equal(usage.GetProperty("completion_tokens").GetInt32(), Delta("""inference_generation_tokens_total{task="chat"}"""));
        Assert.Equal(usage.GetProperty("prompt_tokens").GetInt32(), Delta("""inference_prompt_tokens_total{task="chat"}"""));
    }
}
