using System.Net;
using System.Net.Http.Json;
using Service.Contracts;
using Service.Tests.Support;

namespace Service.Tests.Api.Endpoints;

/// <summary>The pipeline's rules seen over HTTP on the demo model (issue 16): subword targets, several masks.</summary>
public sealed class FillMaskPipelineHttpTests : IClassFixture<FillMaskPipelineHttpTests.DemoService>
{
    public sealed class DemoService() : IDisposable
    {
        public ServiceFactory Factory { get; } = new(new Dictionary<string, string?>());
        public void Dispose() => Factory.Dispose();
    }

    readonly ServiceFactory _factory;
    public FillMaskPipelineHttpTests(DemoService service) => _factory = service.Factory;

    [Fact]
    public async Task A_subword_target_is_its_vocabulary_entry()
    {
        var client = await _factory.StartedClient();
        var response = await client.PostAsJsonAsync("/v1/fill-mask", new { text = "Paris is the capital of [MASK].", targets = new[] { "##s", "France" } });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var predictions = Assert.Single((await response.Content.ReadFromJsonAsync<FillMaskResponse>())!.Masks).Predictions;
        var subword = Assert.Single(predictions, p => p.TokenStr == "##s");
        Assert.Equal("Paris is the capital ofs.", subword.Sequence); // the WordPiece decoder glues ## to the word before
        Assert.Null(subword.Tokens);
    }

    [Fact]
    public async Task With_several_masks_the_sequence_keeps_the_special_tokens()
    {
        var client = await _factory.StartedClient();
        var response = await client.PostAsJsonAsync("/v1/fill-mask", new { text = "[MASK] is the capital of [MASK].", top_k = 2 });
        var masks = (await response.Content.ReadFromJsonAsync<FillMaskResponse>())!.Masks;
        Assert.Equal(2, masks.Count);
        Assert.All(masks[0].Predictions, p =>
        {
            Assert.StartsWith("[CLS]", p.Sequence);
            Assert.EndsWith($"{p.TokenStr.TrimStart('#')} is the capital of [MASK]. [SEP]", p.Sequence);
        });
        Assert.All(masks[1].Predictions, p => Assert.StartsWith("[CLS] [MASK] is the capital of ", p.Sequence));
    }
}
