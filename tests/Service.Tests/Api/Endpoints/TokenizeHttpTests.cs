using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Service.Contracts;
using Service.Tests.Support;

namespace Service.Tests.Api.Endpoints;

/// <summary>
/// `POST /tokenize` and `/detokenize` on the Qwen2 chat fixture and the bert-tiny fill-mask fixture, against
/// the ids Hugging Face's own tokenizers and `apply_chat_template` gave when the fixtures were generated.
/// </summary>
public sealed class TokenizeHttpTests : IClassFixture<TokenizeHttpTests.TwoModels>
{
    public sealed class TwoModels : IAsyncLifetime, IDisposable
    {
        public ServiceFactory Factory { get; } = new(new Dictionary<string, string?>
        {
            ["Models:Chat:Path"] = ChatFixtures.Dir(ChatFixtures.Qwen2),
            ["Models:FillMask:Path"] = Fixtures.Dir(FillMaskModel),
            ["Chat:Safety:AiDisclosure"] = "",
        });
        public HttpClient Client { get; private set; } = null!;
        public async Task InitializeAsync() => Client = await Factory.StartedClient();
        public Task DisposeAsync() => Task.CompletedTask;
        public void Dispose() => Factory.Dispose();
    }

    const string ChatModel = ChatFixtures.Qwen2, FillMaskModel = "bert-tiny";
    readonly HttpClient _client;

    public TokenizeHttpTests(TwoModels service) => _client = service.Client;

    async Task<TokenizeResponse> Tokenize(object body)
    {
        var response = await _client.PostAsJsonAsync("/tokenize", body);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<TokenizeResponse>())!;
    }

    [Fact]
    public async Task Messages_become_the_ids_of_HFs_chat_template_and_the_chat_route_counts_the_same()
    {
        var expected = ChatCheckpointHttpTests.Expected();
        var messages = new[] { new { role = "user", content = expected.User } };
        var tokenized = await Tokenize(new { model = ChatModel, messages, add_generation_prompt = true });
        Assert.Equal(expected.PromptIds, tokenized.Tokens);
        Assert.Equal((expected.PromptIds.Length, 64), (tokenized.Count, tokenized.MaxModelLen));

        var chat = await _client.PostAsJsonAsync("/v1/chat/completions", new { model = ChatModel, messages, max_tokens = 1 });
        var completion = (await chat.Content.ReadFromJsonAsync<ChatCompletion>())!;
        Assert.Equal(tokenized.Count, completion.Usage.PromptTokens);
    }

    [Fact]
    public async Task A_long_conversation_is_truncated_as_the_chat_route_truncates_it()
    {
        // 64 positions of context: the builder drops old turns, and /tokenize shows the prompt after that.
        var turns = Enumerable.Range(0, 6).SelectMany(i => new[]
        {
            new { role = "user", content = $"question {i} about sleep" },
            new { role = "assistant", content = $"answer {i}" },
        }).Append(new { role = "user", content = "and now?" }).ToArray();
        var tokenized = await Tokenize(new { model = ChatModel, messages = turns });
        Assert.True(tokenized.Count <= 63, $"{tokenized.Count} tokens exceed the input budget");
        var chat = await _client.PostAsJsonAsync("/v1/chat/completions", new { model = ChatModel, messages = turns, max_tokens = 1 });
        Assert.Equal(HttpStatusCode.OK, chat.StatusCode);
        Assert.Equal(tokenized.Count, (await chat.Content.ReadFromJsonAsync<ChatCompletion>())!.Usage.PromptTokens);
    }

    [Fact]
    public async Task Chat_prompts_encode_as_HF_does_and_typed_special_tokens_stay_text()
    {
        foreach (var c in ChatFixtures.TokenizerExpected().Encode)
        {
            var tokenized = await Tokenize(new { model = ChatModel, prompt = c.Text });
            Assert.Equal(c.Ids, tokenized.Tokens);
            var response = await _client.PostAsJsonAsync("/detokenize", new { model = ChatModel, tokens = c.Ids });
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(c.Text, (await response.Content.ReadFromJsonAsync<DetokenizeResponse>())!.Prompt);
        }
    }

    [Fact]
    public async Task Fill_mask_prompts_get_the_ids_HF_gives_with_and_without_special_tokens()
    {
        foreach (var c in Fixtures.Expected(FillMaskModel).Cases)
        {
            var tokenized = await Tokenize(new { model = FillMaskModel, prompt = c.Text });
            Assert.Equal(c.InputIds, tokenized.Tokens);
            Assert.Equal(c.InputIds.Length, tokenized.Count);
            var bare = await Tokenize(new { model = FillMaskModel, prompt = c.Text, add_special_tokens = false });
            Assert.Equal(c.InputIds[1..^1], bare.Tokens);
        }
    }

    [Fact]
    public async Task Fill_mask_detokenize_is_HFs_decode_with_special_tokens_kept()
    {
        var c = Fixtures.Expected(FillMaskModel).Cases[0];
        var response = await _client.PostAsJsonAsync("/detokenize", new { model = FillMaskModel, tokens = c.InputIds });
        var text = (await response.Content.ReadFromJsonAsync<DetokenizeResponse>())!.Prompt;
        Assert.Equal($"[CLS] {c.Text} [SEP]", text, ignoreCase: true);
    }

    public static TheoryData<string, object, string> BadRequests => new()
    {
        { "/tokenize", new { prompt = "hi" }, "model" },
        { "/tokenize", new { model = ChatModel }, "prompt" },
        { "/tokenize", new { model = ChatModel, prompt = "hi", messages = new[] { new { role = "user", content = "hi" } } }, "prompt" },
        { "/tokenize", new { model = ChatModel, messages = new[] { new { role = "user", content = "hi" } }, add_generation_prompt = false }, "add_generation_prompt" },
        { "/tokenize", new { model = ChatModel, messages = new[] { new { role = "robot", content = "hi" } } }, "messages" },
        { "/tokenize", new { model = ChatModel, messages = new[] { new { role = "assistant", content = "hi" } } }, "messages" },
        { "/tokenize", new { model = FillMaskModel, messages = new[] { new { role = "user", content = "hi" } } }, "messages" },
        { "/detokenize", new { model = ChatModel }, "tokens" },
        { "/detokenize", new { model = ChatModel, tokens = new[] { 1, -1 } }, "tokens" },
        { "/detokenize", new { model = ChatModel, tokens = new[] { 1_000_000 } }, "tokens" },
        { "/detokenize", new { model = FillMaskModel, tokens = new[] { 2, 100_000 } }, "tokens" },
    };

    [Theory]
    [MemberData(nameof(BadRequests))]
    public async Task Bad_fields_get_400_naming_the_field(string route, object body, string param)
    {
        var response = await _client.PostAsJsonAsync(route, body);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(param, problem.RootElement.GetProperty("param").GetString());
        Assert.False(string.IsNullOrWhiteSpace(problem.RootElement.GetProperty("detail").GetString()));
    }

    [Fact]
    public async Task An_unknown_model_is_404_without_echoing_it()
    {
        var response = await _client.PostAsJsonAsync("/tokenize", new { model = "gpt-secret-name", prompt = "hi" });
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.DoesNotContain("gpt-secret-name", await response.Content.ReadAsStringAsync());
        var detokenize = await _client.PostAsJsonAsync("/detokenize", new { model = "gpt-secret-name", tokens = new[] { 1 } });
        Assert.Equal(HttpStatusCode.NotFound, detokenize.StatusCode);
    }

    [Fact]
    public async Task A_body_that_is_not_JSON_is_400()
    {
        var response = await _client.PostAsync("/tokenize", new StringContent("{not json", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }
}
