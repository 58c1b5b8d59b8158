using System.Net.Http.Json;
using Service.Contracts;
using Service.Tests.Support;

namespace Service.Tests.Api.Endpoints;

/// <summary>Models:Chat:Weights=int8 through the whole service: the Qwen2 fixture's greedy reply equals the float32 model's.</summary>
public sealed class ChatInt8HttpTests
{
    static async Task<ChatCompletion> Greedy(string? weights)
    {
        var settings = ChatCheckpointHttpTests.Settings();
        settings["Models:Chat:DType"] = "float32";
        settings["Models:Chat:Weights"] = weights;
        using var factory = new ServiceFactory(settings);
        var client = await factory.StartedClient();
        var expected = ChatCheckpointHttpTests.Expected();
        var body = new { model = ChatFixtures.Qwen2, temperature = 0, max_completion_tokens = expected.MaxTokens, messages = new[] { new { role = "user", content = expected.User } } };
        var response = await client.PostAsJsonAsync("/v1/chat/completions", body);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<ChatCompletion>())!;
    }

    [Fact]
    public async Task The_int8_greedy_reply_equals_the_float32_reply()
    {
        var exact = await Greedy(null);
        var quantised = await Greedy("int8");
        Assert.Equal(exact.Choices[0].Message.Content, quantised.Choices[0].Message.Content);
        Assert.Equal(exact.Usage.CompletionTokens, quantised.Usage.CompletionTokens);
        Assert.Equal(exact.Choices[0].FinishReason, quantised.Choices[0].FinishReason);
    }
}
