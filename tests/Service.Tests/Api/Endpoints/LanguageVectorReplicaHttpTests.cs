using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using Service.Contracts;
using Service.Tests.Support;

namespace Service.Tests.Api.Endpoints;

/// <summary>Two service instances on one cache directory, as replicas on a shared volume: each sees the other's PUT and DELETE within 5 s.</summary>
public sealed class LanguageVectorReplicaHttpTests
{
    static async Task Within(Func<Task<bool>> seen, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!await seen())
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"the other replica did not see {what} within 5 s");
            await Task.Delay(100);
        }
    }

    [Fact]
    public async Task A_put_and_a_delete_on_one_replica_are_served_by_the_other_without_a_restart()
    {
        var cache = Directory.CreateTempSubdirectory("lrp2-shared-").FullName;
        var settings = new Dictionary<string, string?> { ["Projection:CacheDirectory"] = cache, ["Projection:RescanSeconds"] = "1" };
        using var first = new ServiceFactory(settings);
        using var second = new ServiceFactory(settings);
        var a = await first.StartedClient();
        var b = await second.StartedClient();

        var put = await a.PutAsJsonAsync("/v1/language-vectors/fr", new { sentences = new[] { "Paris est la capitale de la France." } });
        Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        var seenByB = await b.GetFromJsonAsync<LanguageVectorsInfo>("/v1/language-vectors/fr");
        Assert.Equal(1, seenByB!.SentenceCount);

        var replaced = await a.PutAsJsonAsync("/v1/language-vectors/fr", new { sentences = new[] { "Paris est la capitale.", "Le fleuve est long." } });
        var digest = (await replaced.Content.ReadFromJsonAsync<LanguageVectorsInfo>())!.CorpusDigest;
        await Within(async () => (await b.GetFromJsonAsync<LanguageVectorsInfo>("/v1/language-vectors/fr"))!.CorpusDigest == digest, "the replaced vectors");

        Assert.Equal(HttpStatusCode.NoContent, (await a.DeleteAsync("/v1/language-vectors/fr")).StatusCode);
        await Within(async () => (await b.GetAsync("/v1/language-vectors/fr")).StatusCode == HttpStatusCode.NotFound, "the delete");
    }
}
