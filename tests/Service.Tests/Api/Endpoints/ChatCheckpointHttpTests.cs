using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Serialization;
using Service.Contracts;
using Service.Tests.Support;

namespace Service.Tests.Api.Endpoints;

/// <summary>The Qwen2 fixture (BF16, real file layout, ChatML) served over HTTP against the reference's greedy reply.</summary>
public sealed class ChatCheckpointHttpTests
{
    public sealed record ChatExpected(
        [property: JsonPropertyName("user")] string User,
        [property: JsonPropertyName("prompt_ids")] int[] PromptIds,
        [property: JsonPropertyName("reply_text")] string ReplyText,
        [property: JsonPropertyName("reply_ids")] int[] ReplyIds,
        [property: JsonPropertyName("finish_reason")] string FinishReason,
        [property: JsonPropertyName("max_tokens")] int MaxTokens);

    public static ChatExpected Expected() =>
        JsonSerializer.Deserialize<ChatExpected>(File.ReadAllText(Path.Combine(ChatFixtures.Dir(ChatFixtures.Qwen2), "chat-expected.json")))!;

    public static Dictionary<string, string?> Settings() => new()
    {
        ["Models:Chat:Path"] = ChatFixtures.Dir(ChatFixtures.Qwen2),
        ["Chat:Safety:AiDisclosure"] = "",
    };

    [Fact]
    public async Task The_greedy_reply_equals_the_reference_and_streams_the_same()
    {
        using var factory = new ServiceFactory(Settings());
        var client = await factory.StartedClient();
        var expected = Expected();
        var body = new { model = ChatFixtures.Qwen2, temperature = 0, max_completion_tokens = expected.MaxTokens, messages = new[] { new { role = "user", content = expected.User } } };
        var response = await client.PostAsJsonAsync("/v1/chat/completions", body);
        var completion = (await response.Content.ReadFromJsonAsync<ChatCompletion>())!;
        Assert.Equal(expected.ReplyText, completion.Choices[0].Message.Content);
        Assert.Equal(expected.FinishReason, completion.Choices[0].FinishReason);
        Assert.Equal(expected.PromptIds.Length, completion.Usage.PromptTokens);
        Assert.Equal(expected.ReplyIds.Length, completion.Usage.CompletionTokens);
        Assert.Null(completion.AiDisclosure);

        var models = (await client.GetFromJsonAsync<ModelList>("/v1/models"))!;
        var card = Assert.Single(models.Data, m => m.Task == "chat");
        Assert.Equal((ChatFixtures.Qwen2, false, 2, 64), (card.Id, card.Demo, card.Layers, card.MaxSequenceLength));
    }
}
