using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Service.Contracts;
using Service.Tests.Support;

namespace Service.Tests.Api.Endpoints;

public sealed class FillMaskHttpTests : IClassFixture<FillMaskHttpTests.DemoService>
{
    public sealed class DemoService() : IDisposable
    {
        public ServiceFactory Factory { get; } = new(new Dictionary<string, string?> { ["FillMask:MaxMasks"] = "3" });
        public void Dispose() => Factory.Dispose();
    }

    readonly ServiceFactory _factory;
    public FillMaskHttpTests(DemoService service) => _factory = service.Factory;

    [Fact]
    public async Task The_demo_model_answers_and_says_it_is_the_demo()
    {
        var client = await _factory.StartedClient();
        var response = await client.PostAsJsonAsync("/v1/fill-mask", new { text = "Paris is the capital of [MASK].", top_k = 3 });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = (await response.Content.ReadFromJsonAsync<FillMaskResponse>())!;
        Assert.StartsWith("demo-", body.Model);
        var mask = Assert.Single(body.Masks);
        Assert.Equal(6, mask.Position); // [CLS] Paris is the capital of [MASK] . [SEP]
        Assert.Equal(9, body.Usage.PromptTokens);
        Assert.Equal(3, mask.Predictions.Count);
        Assert.True(mask.Predictions.Zip(mask.Predictions.Skip(1)).All(p => p.First.Score >= p.Second.Score));
        Assert.All(mask.Predictions, p => Assert.Equal($"Paris is the capital of {p.TokenStr}.", p.Sequence));

        var models = (await client.GetFromJsonAsync<ModelList>("/v1/models"))!;
        Assert.True(Assert.Single(models.Data, m => m.Task == "fill-mask").Demo);
    }

    [Fact]
    public async Task The_response_uses_snake_case_fields()
    {
        var client = await _factory.StartedClient();
        var json = await (await client.PostAsJsonAsync("/v1/fill-mask", new { text = "[MASK] is a city." })).Content.ReadAsStringAsync();
        Assert.Contains("\"token_str\"", json);
        Assert.Contains("\"prompt_tokens\"", json);
    }

    [Fact]
    public async Task Targets_restrict_and_rank_the_candidates()
    {
        var client = await _factory.StartedClient();
        var response = await client.PostAsJsonAsync("/v1/fill-mask", new { text = "Paris is the capital of [MASK].", targets = new[] { "France", "Germany", "Spain" }, top_k = 2 });
        var body = (await response.Content.ReadFromJsonAsync<FillMaskResponse>())!;
        var predictions = Assert.Single(body.Masks).Predictions;
        Assert.Equal(2, predictions.Count);
        Assert.All(predictions, p => Assert.Contains(p.TokenStr, new[] { "France", "Germany", "Spain" }));
    }

    [Fact]
    public async Task Targets_of_several_tokens_are_ranked_as_whole_words()
    {
        var client = await _factory.StartedClient();
        var response = await client.PostAsJsonAsync("/v1/fill-mask", new { text = "Paris is the capital of [MASK].", targets = new[] { "France", "Qwxy" } });
        var predictions = Assert.Single((await response.Content.ReadFromJsonAsync<FillMaskResponse>())!.Masks).Predictions;
        var whole = Assert.Single(predictions, p => p.TokenStr == "Qwxy");
        Assert.True(whole.Tokens!.Count > 1);
        Assert.Equal(Math.Exp(whole.MeanLogProbability!.Value), whole.Score, 1e-9);
        Assert.Equal("Paris is the capital of Qwxy.", whole.Sequence);
        Assert.Equal(predictions.OrderByDescending(p => p.Score).Select(p => p.TokenStr), predictions.Select(p => p.TokenStr));
    }

    public static TheoryData<string, string, string> BadRequests => new()
    {
        { """{"text": "Paris is the capital of France."}""", "no [MASK]", "text" },
        { """{"text": ""}""", "text is empty", "text" },
        { """{"top_k": 3}""", "text is empty", "text" },
        { """{"text": "[MASK] [MASK] [MASK] [MASK]"}""", "at most 3", "text" },
        { """{"text": "[MASK]", "top_k": 0}""", "top_k must be between 1 and 100", "top_k" },
        { """{"text": "[MASK]", "top_k": 101}""", "top_k must be between 1 and 100", "top_k" },
        { """{"text": "[MASK]", "targets": ["☃"]}""", "not in the vocabulary", "targets" },
        { """{"text": "[MASK] [MASK]", "targets": ["Qwxyzzy"]}""", "single [MASK]", "targets" },
        { """{"text": "[MASK]", "targets": [null]}""", "not in the vocabulary", "targets" },
        { """{"text": "[MASK]", "targets": []}""", "targets must hold", "targets" },
        { """{"text": "[MASK]", "language": "French!"}""", "ISO 639", "language" },
    };

    [Theory, MemberData(nameof(BadRequests))]
    public async Task Bad_requests_get_400_problem_details_that_say_what_to_fix(string body, string detail, string param)
    {
        var client = await _factory.StartedClient();
        var response = await client.PostAsync("/v1/fill-mask", new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Contains(detail, problem.RootElement.GetProperty("detail").GetString());
        Assert.Equal(param, problem.RootElement.GetProperty("param").GetString());
    }

    [Fact]
    public async Task Text_longer_than_the_model_reads_is_refused()
    {
        var client = await _factory.StartedClient();
        var text = string.Join(' ', Enumerable.Repeat("the", 200)) + " [MASK].";
        var response = await client.PostAsJsonAsync("/v1/fill-mask", new { text });
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("at most 128", await response.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData("""{"text": "[MASK]", "top_k": "five"}""", "$.top_k")]
    [InlineData("""{"text": ["[MASK]"]}""", "$.text")]
    [InlineData("""{"text": "[MASK]" """, "")]
    [InlineData("", "")]
    public async Task Unreadable_bodies_get_400_with_a_detail(string body, string path)
    {
        var client = await _factory.StartedClient();
        var response = await client.PostAsync("/v1/fill-mask", new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var detail = problem.RootElement.GetProperty("detail").GetString()!;
        Assert.False(string.IsNullOrWhiteSpace(detail));
        Assert.Contains(path, detail);
    }

    [Fact]
    public async Task A_body_that_is_not_json_gets_415()
    {
        var client = await _factory.StartedClient();
        var response = await client.PostAsync("/v1/fill-mask", new StringContent("text=[MASK]", Encoding.UTF8, "text/plain"));
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
    }

    [Fact]
    public async Task Swagger_describes_the_request_with_an_example()
    {
        var client = await _factory.StartedClient();
        var json = await client.GetStringAsync("/swagger/v1/swagger.json");
        using var doc = JsonDocument.Parse(json);
        var schema = doc.RootElement.GetProperty("components").GetProperty("schemas").GetProperty(nameof(FillMaskRequest));
        Assert.True(schema.TryGetProperty("example", out _) || schema.TryGetProperty("examples", out _));
        var schemas = doc.RootElement.GetProperty("components").GetProperty("schemas");
        foreach (var field in schema.GetProperty("properties").EnumerateObject())
        {
            // A field of an object type is a $ref (OpenAPI 3.0 ignores siblings of $ref): its schema carries the description.
            var described = field.Value.TryGetProperty("$ref", out var reference)
                ? schemas.GetProperty(reference.GetString()!.Split('/')[^1])
                : field.Value;
            Assert.True(described.TryGetProperty("description", out _), $"{field.Name} has no description");
        }
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/swagger/index.html")).StatusCode);
    }
}
