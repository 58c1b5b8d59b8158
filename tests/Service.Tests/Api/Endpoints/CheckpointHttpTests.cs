using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Service.Contracts;
using Service.Tests.Support;

namespace Service.Tests.Api.Endpoints;

/// <summary>The service started on a real-format checkpoint, end to end against the PyTorch reference.</summary>
public sealed class CheckpointHttpTests
{
    [Theory]
    [InlineData("bert-tiny")]
    [InlineData("xlmr-tiny")]
    public async Task Fill_mask_over_http_matches_the_reference(string fixture)
    {
        using var factory = new ServiceFactory(new Dictionary<string, string?> { ["Models:FillMask:Path"] = Fixtures.Dir(fixture) });
        var client = await factory.StartedClient();
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/ready")).StatusCode);
        var models = (await client.GetFromJsonAsync<ModelList>("/v1/models"))!;
        Assert.False(Assert.Single(models.Data, m => m.Task == "fill-mask").Demo);
        foreach (var c in Fixtures.Expected(fixture).Cases)
        {
            var response = await client.PostAsJsonAsync("/v1/fill-mask", new { text = c.Text, top_k = c.TopIds[0].Length });
            var body = (await response.Content.ReadFromJsonAsync<FillMaskResponse>())!;
            Assert.Equal(fixture, body.Model);
            for (int m = 0; m < c.MaskPositions.Length; m++)
            {
                Assert.Equal(c.TopIds[m], body.Masks[m].Predictions.Select(p => p.Token));
                Assert.All(body.Masks[m].Predictions, p => Assert.True(Math.Abs(p.Score - c.ProbsAtMasks[m][p.Token]) < 1e-5));
            }
        }
    }

    [Fact]
    public async Task A_broken_checkpoint_keeps_the_service_unready_with_the_reason()
    {
        var dir = Fixtures.CopyToTemp("bert-tiny");
        File.Delete(Path.Combine(dir, "model.safetensors"));
        using var factory = new ServiceFactory(new Dictionary<string, string?> { ["Models:FillMask:Path"] = dir });
        var client = await factory.StartedClient();
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/live")).StatusCode);
        var ready = await client.GetAsync("/health/ready");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        Assert.Contains("model.safetensors", await ready.Content.ReadAsStringAsync());
        var fill = await client.PostAsJsonAsync("/v1/fill-mask", new { text = "[MASK]" });
        Assert.Equal(HttpStatusCode.ServiceUnavailable, fill.StatusCode);
        using var problem = JsonDocument.Parse(await fill.Content.ReadAsStringAsync());
        Assert.Contains("failed to load", problem.RootElement.GetProperty("detail").GetString());
    }
}
