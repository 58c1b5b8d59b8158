using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using Serilog;
using Serilog.Configuration;
using Serilog.Core;
using Serilog.Events;
using Service.Tests.Support;

namespace Service.Tests.Api.Infrastructure;

/// <summary>Serilog sink that keeps every event, wired through configuration (`Serilog:WriteTo`) like any real sink.</summary>
public static class CapturedLogs
{
    public static readonly ConcurrentQueue<LogEvent> Events = new();

    public static LoggerConfiguration CaptureForTests(this LoggerSinkConfiguration sink) => sink.Sink(new Sink());

    sealed class Sink : ILogEventSink
    {
        public void Emit(LogEvent logEvent) => Events.Enqueue(logEvent);
    }
}

public sealed class LogRedactionTests
{
    static readonly string Marker = "ZQXJ" + Guid.NewGuid().ToString("N"); // letters only: one word for the tokenizer

    [Fact]
    public async Task No_log_event_holds_request_text_or_keys()
    {
        using var factory = new ServiceFactory(new Dictionary<string, string?>
        {
            ["Serilog:Using:0"] = "Service.Tests",
            ["Serilog:WriteTo:0:Name"] = nameof(CapturedLogs.CaptureForTests),
            ["Serilog:MinimumLevel:Default"] = "Verbose",
            ["Security:ApiKeys:0"] = "the-right-key",
        });
        var client = await factory.StartedClient();
        int before = CapturedLogs.Events.Count;
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "the-right-key");

        var statuses = new List<HttpStatusCode>
        {
            await Post(client, "/v1/fill-mask", new { text = $"{Marker} is the capital of [MASK].", top_k = 3 }),
            await Post(client, "/v1/fill-mask", new { text = $"{Marker} has no mask." }),
            await Send(client, HttpMethod.Post, "/v1/fill-mask", $$"""{"text": "{{Marker}} [MASK]", "top_k": "{{Marker}}"}"""),
            await Send(client, HttpMethod.Post, "/v1/fill-mask", $$"""{"text": "{{Marker}} [MASK]", """), // truncated
            await Send(client, HttpMethod.Put, "/v1/language-vectors/fr", new { sentences = new[] { $"{Marker} est une phrase.", "Le fleuve est long." } }),
            await Send(client, HttpMethod.Put, "/v1/language-vectors/de", new { sentences = new[] { Marker, "" } }),
            await Post(client, "/v1/probes/evaluate", new
            {
                facts = new[] { new { id = "1", language = "en", template = $"[X] {Marker} [Y].", subject = Marker, @object = "Paris", candidates = new[] { "Paris", Marker } } },
            }),
        };
        using var stranger = factory.CreateClient();
        stranger.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Marker);
        statuses.Add((await stranger.PostAsJsonAsync("/v1/fill-mask", new { text = "[MASK]" })).StatusCode);

        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.BadRequest, HttpStatusCode.BadRequest, HttpStatusCode.BadRequest,
            HttpStatusCode.OK, HttpStatusCode.BadRequest, HttpStatusCode.OK, HttpStatusCode.Unauthorized], statuses);

        var events = CapturedLogs.Events.Skip(before).ToList();
        Assert.True(events.Count(e => e.MessageTemplate.Text.StartsWith("HTTP ", StringComparison.Ordinal)) >= statuses.Count,
            "the capture sees the request log lines, so an empty capture cannot pass");
        foreach (var e in events)
        {
            var text = string.Join('\n', [e.RenderMessage(), e.Exception?.ToString() ?? "", .. e.Properties.Select(p => $"{p.Key}={p.Value}")]);
            Assert.False(text.Contains(Marker, StringComparison.OrdinalIgnoreCase), $"log event '{e.MessageTemplate.Text}' holds request text");
            Assert.DoesNotContain("the-right-key", text);
        }
    }

    static async Task<HttpStatusCode> Post(HttpClient client, string path, object body) => (await client.PostAsJsonAsync(path, body)).StatusCode;

    static async Task<HttpStatusCode> Send(HttpClient client, HttpMethod method, string path, object body)
    {
        using var request = new HttpRequestMessage(method, path)
        {
            Content = body is string raw ? new StringContent(raw, Encoding.UTF8, "application/json") : JsonContent.Create(body),
        };
        return (await client.SendAsync(request)).StatusCode;
    }
}
