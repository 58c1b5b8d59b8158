using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Serilog.Events;
using Service.Api.Infrastructure;
using Service.Tests.Support;

namespace Service.Tests.Api.Infrastructure;

/// <summary>The service under faults and hostile input, through HTTP: it stays up and answers a status that says what to do.</summary>
public sealed class FaultInjectionHttpTests
{
    const string Unwritable = Service.Tests.Inference.Projection.LanguageVectorCacheFaultTests.Unwritable;

    static async Task<JsonElement> Problem(HttpResponseMessage response)
    {
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
    }

    [Fact]
    public async Task An_uncreatable_cache_neither_stops_the_host_at_warm_up_nor_fails_a_put_with_500()
    {
        using var factory = new ServiceFactory(new Dictionary<string, string?>
        {
            ["Projection:CacheDirectory"] = Unwritable,
            ["Projection:WarmUp"] = "true",
            ["Projection:Languages:0"] = "de",
        });
        var client = await factory.StartedClient();
        var warmup = factory.Services.GetRequiredService<LanguageVectorWarmup>();
        await warmup.ExecuteTask!.WaitAsync(TimeSpan.FromMinutes(2)); // throws if the warm-up ended with an exception
        Assert.False(factory.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping.IsCancellationRequested);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/ready")).StatusCode);

        var put = await client.PutAsJsonAsync("/v1/language-vectors/fr", new { sentences = new[] { "Paris est la capitale de la France." } });
        Assert.Equal(HttpStatusCode.InsufficientStorage, put.StatusCode);
        var detail = (await Problem(put)).GetProperty("detail").GetString()!;
        Assert.Contains(Unwritable, detail);
        Assert.Contains("Projection:CacheDirectory", detail);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/v1/language-vectors/fr")).StatusCode);
        var fill = await client.PostAsJsonAsync("/v1/fill-mask", new { text = "Paris is the capital of [MASK]." });
        Assert.Equal(HttpStatusCode.OK, fill.StatusCode);
    }

    [Fact]
    public async Task Language_codes_with_a_trailing_line_break_are_refused_and_the_cap_on_languages_answers_409()
    {
        var cache = Directory.CreateTempSubdirectory("lrp2-http-").FullName;
        using var factory = new ServiceFactory(new Dictionary<string, string?>
        {
            ["Projection:CacheDirectory"] = cache,
            ["Projection:MaxLanguages"] = "1",
        });
        var client = await factory.StartedClient();
        var body = new { sentences = new[] { "Paris est la capitale de la France." } };
        var forged = await client.PutAsJsonAsync("/v1/language-vectors/fr%0A", body);
        Assert.Equal(HttpStatusCode.BadRequest, forged.StatusCode);
        Assert.Empty(Directory.GetFiles(cache, "*", SearchOption.AllDirectories));

        Assert.Equal(HttpStatusCode.OK, (await client.PutAsJsonAsync("/v1/language-vectors/en", body)).StatusCode);
        var second = await client.PutAsJsonAsync("/v1/language-vectors/fr", body);
        Assert.Equal(HttpStatusCode.Conflict, second.StatusCode);
        Assert.Contains("Projection:MaxLanguages", (await Problem(second)).GetProperty("detail").GetString());
        Assert.Equal(HttpStatusCode.OK, (await client.PutAsJsonAsync("/v1/language-vectors/en", body)).StatusCode); // replacing is fine
    }

    static LoggedService CapturingService(Dictionary<string, string?>? more = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Serilog:Using:0"] = "Service.Tests",
            ["Serilog:WriteTo:0:Name"] = nameof(CapturedLogs.CaptureForTests),
            ["Serilog:MinimumLevel:Default"] = "Verbose",
        };
        foreach (var (k, v) in more ?? []) settings[k] = v;
        return new LoggedService(new ServiceFactory(settings));
    }

    sealed record LoggedService(ServiceFactory Factory) : IDisposable
    {
        public void Dispose() => Factory.Dispose();
        public static List<LogEvent> RequestEvents(string marker) => [.. CapturedLogs.Events.Where(e =>
            e.MessageTemplate.Text.StartsWith("HTTP ", StringComparison.Ordinal)
            && e.Properties.TryGetValue("RequestPath", out var path) && path.ToString().Contains(marker, StringComparison.Ordinal))];
    }

    [Fact]
    public async Task A_path_with_encoded_line_breaks_cannot_forge_log_lines()
    {
        using var service = CapturingService(new() { ["Security:ApiKeys:0"] = "the-key" });
        var client = await service.Factory.StartedClient();
        var marker = "forge" + Guid.NewGuid().ToString("N");
        var response = await client.GetAsync($"/v1/{marker}%0A%5B06:00:00%20INF%5D%20HTTP%20POST%20/v1/admin%20responded%20200%0D%E2%80%A8x");
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        var line = Assert.Single(LoggedService.RequestEvents(marker)).RenderMessage();
        Assert.DoesNotContain(line, char.IsControl);
        Assert.DoesNotContain('\u2028', line);
        Assert.Contains("%0A", line);
    }

    [Fact]
    public async Task Readiness_answers_503_from_the_moment_stopping_begins_and_health_polls_are_not_errors()
    {
        using var service = CapturingService(new() { ["Host:StopDelaySeconds"] = "3" }); // the port stays open 3 s into stopping
        var client = await service.Factory.StartedClient();
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/ready")).StatusCode);
        service.Factory.Services.GetRequiredService<IHostApplicationLifetime>().StopApplication();
        var stopping = await client.GetAsync("/health/ready");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, stopping.StatusCode);
        Assert.Contains("stopping", await stopping.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/live")).StatusCode);
        var polls = LoggedService.RequestEvents("/health/");
        Assert.NotEmpty(polls);
        Assert.All(polls, e => Assert.True(e.Level < LogEventLevel.Information, $"a health poll was logged at {e.Level}"));
    }

    [Fact]
    public async Task Wrong_api_keys_are_rate_limited_per_client_before_the_key_is_checked()
    {
        using var factory = new ServiceFactory(new Dictionary<string, string?>
        {
            ["Security:ApiKeys:0"] = "the-right-key",
            ["Security:FailedKeyLimit:TokenLimit"] = "3",
            ["Security:FailedKeyLimit:TokensPerPeriod"] = "1",
            ["Security:FailedKeyLimit:PeriodSeconds"] = "600", // no refill during the test
        });
        var client = await factory.StartedClient();
        var statuses = new List<HttpStatusCode>();
        for (int i = 0; i < 6; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/models");
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", $"guess-{i}");
            statuses.Add((await client.SendAsync(request)).StatusCode);
        }
        Assert.Equal([HttpStatusCode.Unauthorized, HttpStatusCode.Unauthorized, HttpStatusCode.Unauthorized,
            HttpStatusCode.TooManyRequests, HttpStatusCode.TooManyRequests, HttpStatusCode.TooManyRequests], statuses);
        using var right = new HttpRequestMessage(HttpMethod.Get, "/v1/models");
        right.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "the-right-key");
        var blocked = await client.SendAsync(right);
        Assert.Equal(HttpStatusCode.TooManyRequests, blocked.StatusCode); // the guesser cannot tell a right key from a wrong one
        Assert.NotNull(blocked.Headers.RetryAfter);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/ready")).StatusCode);
    }

    [Fact]
    public async Task A_chat_request_with_too_many_messages_is_refused_before_tokenizing_in_OpenAIs_envelope()
    {
        using var factory = new ServiceFactory(new Dictionary<string, string?> { ["Chat:MaxMessages"] = "3" });
        var client = await factory.StartedClient();
        var model = (await client.GetFromJsonAsync<JsonElement>("/v1/models")).GetProperty("data").EnumerateArray()
            .Single(m => m.GetProperty("task").GetString() == "chat").GetProperty("id").GetString();
        var messages = Enumerable.Range(0, 5).Select(i => new { role = i % 2 == 0 ? "user" : "assistant", content = $"message {i}" }).ToArray();
        var response = await client.PostAsJsonAsync("/v1/chat/completions", new { model, messages, max_tokens = 4 });
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error");
        Assert.Equal("messages", error.GetProperty("param").GetString());
        Assert.Contains("Chat:MaxMessages", error.GetProperty("message").GetString());
        var fits = await client.PostAsJsonAsync("/v1/chat/completions", new { model, messages = messages[..3], max_tokens = 4 });
        Assert.Equal(HttpStatusCode.OK, fits.StatusCode);
    }

    static ServiceFactory KestrelService()
    {
        var factory = new ServiceFactory(new Dictionary<string, string?> { ["Security:MaxRequestBodyBytes"] = "1048576" });
        factory.UseKestrel(0);
        factory.StartServer();
        return factory;
    }

    // Larger than loopback's socket buffers, so that the client is still sending when the server answers.
    const int OversizeBytes = 24 * 1024 * 1024;

    static string OversizeBody() => "{\"text\": \"" + new string('a', OversizeBytes) + " [MASK]\"}";

    [Fact]
    public async Task An_oversized_body_gets_a_413_that_HttpClient_receives_over_a_real_connection()
    {
        using var factory = KestrelService();
        using var client = factory.CreateClient();
        for (int i = 0; i < 3; i++)
        {
            var declared = await client.PostAsync("/v1/fill-mask", new StringContent(OversizeBody(), Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, declared.StatusCode);

            var chunked = new StringContent(OversizeBody(), Encoding.UTF8, "application/json");
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/fill-mask") { Content = chunked };
            request.Headers.TransferEncodingChunked = true;
            var response = await client.SendAsync(request);
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
            Assert.Contains("too large", await response.Content.ReadAsStringAsync());
        }
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsJsonAsync("/v1/fill-mask", new { text = "Paris is the capital of [MASK]." })).StatusCode);
    }

    [Fact]
    public async Task An_oversized_body_gets_a_413_that_Python_urllib_receives()
    {
        const string python = "/usr/bin/python3";
        Assert.True(File.Exists(python), "Debian's python3 is part of the build machine (ENVIRONMENT.md)");
        using var factory = KestrelService();
        using var client = factory.CreateClient();
        var url = new Uri(client.BaseAddress!, "/v1/fill-mask");
        const string script = """
            import sys, urllib.request, urllib.error
            body = ('{"text": "' + 'a' * int(sys.argv[2]) + ' [MASK]"}').encode()
            request = urllib.request.Request(sys.argv[1], data=body, headers={"Content-Type": "application/json"})
            try:
                print(urllib.request.urlopen(request, timeout=60).status)
            except urllib.error.HTTPError as e:
                print(e.code)
            except Exception as e:
                print(type(e).__name__)
            """;
        var start = new ProcessStartInfo(python) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(script);
        start.ArgumentList.Add(url.ToString());
        start.ArgumentList.Add(OversizeBytes.ToString());
        using var process = Process.Start(start)!;
        var output = await process.StandardOutput.ReadToEndAsync().WaitAsync(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync();
        Assert.Equal("413", output.Trim());
    }
}
