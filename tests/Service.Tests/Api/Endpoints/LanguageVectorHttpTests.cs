using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Service.Api.Infrastructure;
using Service.Contracts;
using Service.Tests.Support;

namespace Service.Tests.Api.Endpoints;

/// <summary>LRP2 through HTTP alone: PUT vectors, project a query, inspect, delete.</summary>
public sealed class LanguageVectorHttpTests : IDisposable
{
    readonly ServiceFactory _factory = new(new Dictionary<string, string?>
    {
        ["Projection:WarmUp"] = "true",
        ["Projection:Languages:0"] = "de", // warm-up computes en and de from the bundled corpora
    });

    public void Dispose() => _factory.Dispose();

    static readonly string[] English = ["Paris is the capital of France.", "The river is long.", "London is a city in England."];
    static readonly string[] French = ["Paris est la capitale de la France.", "le fleuve est long.", "la ville de Paris"];

    [Fact]
    public async Task Vectors_put_over_http_drive_the_projection_of_a_french_query()
    {
        var client = await _factory.StartedClient();
        var put = await client.PutAsJsonAsync("/v1/language-vectors/fr", new { sentences = French });
        Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        var info = (await put.Content.ReadFromJsonAsync<LanguageVectorsInfo>())!;
        Assert.Equal(("fr", 3, 5), (info.Language, info.SentenceCount, info.Layers)); // demo: 4 layers + embeddings
        Assert.Equal(HttpStatusCode.OK, (await client.PutAsJsonAsync("/v1/language-vectors/en", new { sentences = English })).StatusCode);

        var query = new { text = "Paris est la capitale de la [MASK].", language = "fr", top_k = 5 };
        var plain = await FillMask(client, new { query.text, query.language, query.top_k, projection = new { enabled = false } });
        var projected = await FillMask(client, new { query.text, query.language, query.top_k, projection = new { lirp_layer = 1, lsrp_layer = 3 } });
        Assert.False(plain.Projection.Applied);
        Assert.True(projected.Projection.Applied);
        Assert.Equal((1, 3, "request"), (projected.Projection.LirpLayer!.Value, projected.Projection.LsrpLayer!.Value, projected.Projection.LayersSource!));
        Assert.NotEqual(plain.Masks[0].Predictions.Select(p => p.Score), projected.Masks[0].Predictions.Select(p => p.Score));

        var defaults = await FillMask(client, new { query.text, query.language });
        Assert.True(defaults.Projection.Applied); // on by default once vectors exist
        Assert.Equal("default", defaults.Projection.LayersSource);
        var english = await FillMask(client, new { text = "Paris is the capital of [MASK].", projection = new { enabled = true } });
        Assert.False(english.Projection.Applied);

        Assert.Contains("fr", (await client.GetFromJsonAsync<LanguageVectorsList>("/v1/language-vectors"))!.Data.Select(d => d.Language));
        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync("/v1/language-vectors/fr")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/v1/language-vectors/fr")).StatusCode);
        var missing = await client.PostAsJsonAsync("/v1/fill-mask", new { query.text, query.language, projection = new { enabled = true } });
        Assert.Equal(HttpStatusCode.BadRequest, missing.StatusCode);
        Assert.Contains("PUT /v1/language-vectors/fr", await missing.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Start_up_computes_configured_languages_from_the_bundled_corpora()
    {
        var client = await _factory.StartedClient();
        await _factory.Services.GetRequiredService<LanguageVectorWarmup>().ExecuteTask!;
        var list = (await client.GetFromJsonAsync<LanguageVectorsList>("/v1/language-vectors"))!;
        var german = Assert.Single(list.Data, d => d.Language == "de");
        Assert.True(german.SentenceCount >= 100);
    }

    public static TheoryData<string, object, string> BadPuts => new()
    {
        { "fr", new { sentences = Array.Empty<string>() }, "at least one sentence" },
        { "fr", new { sentences = new[] { "ok", " " } }, "sentences[1] is empty" },
        { "fr", new { }, "at least one sentence" },
        { "..%2F..%2Fetc", new { sentences = new[] { "x" } }, "ISO 639" },
    };

    [Theory, MemberData(nameof(BadPuts))]
    public async Task Bad_puts_are_refused_with_what_to_fix(string language, object body, string detail)
    {
        var client = await _factory.StartedClient();
        var response = await client.PutAsJsonAsync($"/v1/language-vectors/{language}", body);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Contains(detail, problem.RootElement.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task An_invalid_layer_pair_is_refused()
    {
        var client = await _factory.StartedClient();
        var response = await client.PostAsJsonAsync("/v1/fill-mask", new { text = "[MASK] est une ville.", language = "fr", projection = new { lirp_layer = 3, lsrp_layer = 2 } });
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("1 <= lirp_layer < lsrp_layer <= 4", await response.Content.ReadAsStringAsync());
    }

    static async Task<FillMaskResponse> FillMask(HttpClient client, object body)
    {
        var response = await client.PostAsJsonAsync("/v1/fill-mask", body);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<FillMaskResponse>())!;
    }
}
