using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Service.Api.Infrastructure;
using Service.Tests.Support;

namespace Service.Tests.Api.Infrastructure;

public sealed class ApiKeyTests : IClassFixture<ApiKeyTests.KeyedService>
{
    public const string Key = "test-key-0123456789abcdef";
    public const string OtherKey = "second-key-for-another-client";

    public sealed class KeyedService : IDisposable
    {
        public ServiceFactory Factory { get; } = new(new Dictionary<string, string?>
        {
            ["Security:ApiKeys:0"] = Key,
            ["Security:ApiKeys:1"] = OtherKey,
            ["Security:PublicSwagger"] = "false",
            ["Security:RateLimit:TokenLimit"] = "0",
        });
        public void Dispose() => Factory.Dispose();
    }

    readonly ServiceFactory _factory;
    public ApiKeyTests(KeyedService service) => _factory = service.Factory;

    static HttpRequestMessage FillMask(string? authorization)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/fill-mask") { Content = JsonContent.Create(new { text = "Paris is the capital of [MASK]." }) };
        if (authorization is not null) request.Headers.TryAddWithoutValidation("Authorization", authorization);
        return request;
    }

    [Theory]
    [InlineData(null, "needs an API key")]
    [InlineData("Bearer", "needs an API key")]
    [InlineData("Basic dGVzdDp0ZXN0", "needs an API key")]
    [InlineData("Bearer wrong-key", "not valid")]
    [InlineData("Bearer test-key-0123456789abcde", "not valid")] // a prefix of the right key
    [InlineData("Bearer test-key-0123456789abcdefX", "not valid")]
    public async Task Requests_without_the_right_key_get_401_problem_details_and_a_bearer_challenge(string? authorization, string detail)
    {
        var client = await _factory.StartedClient();
        var response = await client.SendAsync(FillMask(authorization));
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("Bearer", Assert.Single(response.Headers.WwwAuthenticate).Scheme);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(401, problem.RootElement.GetProperty("status").GetInt32());
        Assert.Contains(detail, problem.RootElement.GetProperty("detail").GetString());
    }

    [Theory]
    [InlineData("Bearer " + Key)]
    [InlineData("bearer " + Key)]
    [InlineData("Bearer " + OtherKey)]
    public async Task The_right_key_gets_200(string authorization)
    {
        var client = await _factory.StartedClient();
        var response = await client.SendAsync(FillMask(authorization));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Theory]
    [InlineData("/health/live")]
    [InlineData("/health/ready")]
    [InlineData("/metrics")]
    public async Task Health_and_metrics_stay_public(string path)
    {
        var client = await _factory.StartedClient();
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(path)).StatusCode);
    }

    [Fact]
    public async Task Swagger_needs_a_key_when_configured_so()
    {
        var client = await _factory.StartedClient();
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/swagger/v1/swagger.json")).StatusCode);
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Key);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/swagger/v1/swagger.json")).StatusCode);
    }

    [Fact]
    public void Keys_are_matched_by_digest_whatever_their_length()
    {
        var keys = new ApiKeys(["alpha", "", "  ", "a-much-longer-second-key"]);
        Assert.True(keys.Enabled);
        Assert.Equal(0, keys.Match("alpha"));
        Assert.Equal(1, keys.Match("a-much-longer-second-key")); // blank entries are dropped
        Assert.Equal(-1, keys.Match("alph"));
        Assert.Equal(-1, keys.Match(""));
        Assert.Equal(-1, keys.Match(new string('x', 10_000)));
        Assert.False(new ApiKeys([]).Enabled);
    }

    [Fact]
    public void The_comparison_is_constant_time_over_equal_length_digests()
    {
        // Review aid: the source must compare digests with FixedTimeEquals, never the keys with ==, Equals or SequenceEqual.
        var source = File.ReadAllText(Service.Tests.Deployment.Repository.File("src/Api/Infrastructure/Security.cs"));
        var match = source[source.IndexOf("public int Match(", StringComparison.Ordinal)..];
        match = match[..match.IndexOf("static byte[] Digest", StringComparison.Ordinal)];
        Assert.Contains("CryptographicOperations.FixedTimeEquals(digest, _digests[i])", match);
        Assert.DoesNotContain("SequenceEqual", match);
        Assert.DoesNotContain("break", match);
        Assert.DoesNotContain("return i", match);
        Assert.Contains("SHA256.HashData", source);
    }
}
