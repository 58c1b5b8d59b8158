using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Service.Tests.Support;

namespace Service.Tests.Api.Infrastructure;

/// <summary>Rate limit, body limit and CORS, each on a host configured for it.</summary>
public sealed class LimitsTests
{
    static async Task<string> Detail(HttpResponseMessage response)
    {
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return problem.RootElement.GetProperty("detail").GetString()!;
    }

    [Fact]
    public async Task An_emptied_bucket_gives_429_with_Retry_After_per_key_and_health_is_not_limited()
    {
        using var factory = new ServiceFactory(new Dictionary<string, string?>
        {
            ["Security:ApiKeys:0"] = "key-one",
            ["Security:ApiKeys:1"] = "key-two",
            ["Security:RateLimit:TokenLimit"] = "3",
            ["Security:RateLimit:TokensPerPeriod"] = "1",
            ["Security:RateLimit:PeriodSeconds"] = "120", // no refill during the test
        });
        var one = await factory.StartedClient();
        one.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "key-one");
        var statuses = new List<HttpStatusCode>();
        for (int i = 0; i < 5; i++) statuses.Add((await one.GetAsync("/v1/models")).StatusCode);
        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests, HttpStatusCode.TooManyRequests], statuses);

        var limited = await one.PostAsJsonAsync("/v1/fill-mask", new { text = "[MASK]." });
        Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
        var retryAfter = limited.Headers.RetryAfter?.Delta;
        Assert.NotNull(retryAfter);
        Assert.InRange(retryAfter.Value.TotalSeconds, 1, 120);
        Assert.Contains("Retry-After", await Detail(limited));

        var two = factory.CreateClient(); // another key has its own bucket
        two.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "key-two");
        Assert.Equal(HttpStatusCode.OK, (await two.GetAsync("/v1/models")).StatusCode);
        for (int i = 0; i < 10; i++) Assert.Equal(HttpStatusCode.OK, (await one.GetAsync("/health/ready")).StatusCode);
    }

    [Fact]
    public async Task A_body_over_the_limit_gets_413_problem_details_before_it_is_read()
    {
        using var factory = new ServiceFactory(new Dictionary<string, string?> { ["Security:MaxRequestBodyBytes"] = "1000" });
        var client = await factory.StartedClient();
        var small = await client.PostAsJsonAsync("/v1/fill-mask", new { text = "Paris is the capital of [MASK]." });
        Assert.Equal(HttpStatusCode.OK, small.StatusCode);
        var large = await client.PostAsJsonAsync("/v1/fill-mask", new { text = new string('a', 2000) + " [MASK]" });
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, large.StatusCode);
        Assert.Contains("too large", await Detail(large));
    }

    [Fact]
    public async Task Kestrel_refuses_a_chunked_body_over_the_limit_with_413_problem_details()
    {
        using var factory = new ServiceFactory(new Dictionary<string, string?> { ["Security:MaxRequestBodyBytes"] = "1000" });
        factory.UseKestrel(0); // the real server: a chunked body has no Content-Length, Kestrel stops it while the handler reads
        factory.StartServer();
        using var client = factory.CreateClient();
        var body = new StringContent("{\"text\": \"" + new string('a', 5000) + " [MASK]\"}", Encoding.UTF8, "application/json");
        body.Headers.ContentLength = null;
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/fill-mask") { Content = body };
        request.Headers.TransferEncodingChunked = true;
        var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Contains("too large", await Detail(response));
    }

    [Fact]
    public async Task Cors_is_closed_by_default_and_opens_to_configured_origins_only()
    {
        using var closed = new ServiceFactory();
        var response = await (await closed.StartedClient()).SendAsync(Preflight("https://app.example"));
        Assert.False(response.Headers.Contains("Access-Control-Allow-Origin"));

        using var open = new ServiceFactory(new Dictionary<string, string?> { ["Security:CorsOrigins:0"] = "https://app.example" });
        var client = await open.StartedClient();
        var allowed = await client.SendAsync(Preflight("https://app.example"));
        Assert.Equal("https://app.example", Assert.Single(allowed.Headers.GetValues("Access-Control-Allow-Origin")));
        var other = await client.SendAsync(Preflight("https://evil.example"));
        Assert.False(other.Headers.Contains("Access-Control-Allow-Origin"));
    }

    static HttpRequestMessage Preflight(string origin)
    {
        var request = new HttpRequestMessage(HttpMethod.Options, "/v1/fill-mask");
        request.Headers.Add("Origin", origin);
        request.Headers.Add("Access-Control-Request-Method", "POST");
        request.Headers.Add("Access-Control-Request-Headers", "content-type");
        return request;
    }
}
