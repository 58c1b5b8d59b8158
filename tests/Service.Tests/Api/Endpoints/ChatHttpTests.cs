using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Service.Api.Endpoints;
using Service.Contracts;
using Service.Inference.Chat;
using Service.Tests.Support;

namespace Service.Tests.Api.Endpoints;

/// <summary>`POST /v1/chat/completions` on the demo chat model: shapes, SSE framing, errors, safety notices.</summary>
public sealed class ChatHttpTests : IClassFixture<ChatHttpTests.DemoService>
{
    public sealed class DemoService : IDisposable
    {
        public ServiceFactory Factory { get; } = new();
        public void Dispose() => Factory.Dispose();
    }

    const string Model = "demo-tiny-llama";
    static readonly string Disclosure = new ChatSafetyOptions().AiDisclosure;
    readonly ServiceFactory _factory;

    public ChatHttpTests(DemoService service) => _factory = service.Factory;

    static object Body(string content = "我最近睡不着，怎么办？", bool stream = false, int maxTokens = 8, object? extra = null)
    {
        var body = new Dictionary<string, object?>
        {
            ["model"] = Model,
            ["messages"] = new[] { new { role = "user", content } },
            ["temperature"] = 0,
            ["max_tokens"] = maxTokens,
            ["stream"] = stream,
        };
        if (extra is not null)
            foreach (var p in extra.GetType().GetProperties()) body[p.Name] = p.GetValue(extra);
        return body;
    }

    [Fact]
    public async Task A_completion_has_OpenAI_shape_and_says_it_is_the_demo_and_an_AI()
    {
        var client = await _factory.StartedClient();
        var response = await client.PostAsJsonAsync("/v1/chat/completions", Body());
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var completion = (await response.Content.ReadFromJsonAsync<ChatCompletion>())!;
        Assert.StartsWith("chatcmpl-", completion.Id);
        Assert.Equal("chat.completion", completion.Object);
        Assert.Equal(Model, completion.Model);
        var choice = Assert.Single(completion.Choices);
        Assert.Equal(0, choice.Index);
        Assert.Equal("assistant", choice.Message.Role);
        Assert.Contains(choice.FinishReason, new[] { "stop", "length" });
        Assert.StartsWith(Disclosure + "\n\n", choice.Message.Content); // first reply of the conversation
        Assert.Null(choice.CrisisNotice);
        Assert.Equal(Disclosure, completion.AiDisclosure);
        Assert.InRange(completion.Usage.CompletionTokens, 1, 8);
        Assert.Equal(completion.Usage.PromptTokens + completion.Usage.CompletionTokens, completion.Usage.TotalTokens);
        Assert.False(response.Headers.Contains(ChatEndpoints.CrisisHeader));

        var models = (await client.GetFromJsonAsync<ModelList>("/v1/models"))!;
        var card = Assert.Single(models.Data, m => m.Task == "chat");
        Assert.Equal(Model, card.Id);
        Assert.True(card.Demo);
    }

    [Fact]
    public async Task Greedy_replies_repeat_and_later_turns_carry_no_disclosure()
    {
        var client = await _factory.StartedClient();
        var first = await Content(client, Body());
        Assert.Equal(first, await Content(client, Body()));
        var later = new
        {
            model = Model, temperature = 0, max_tokens = 4,
            messages = new[] { new { role = "user", content = "hi" }, new { role = "assistant", content = "hello" }, new { role = "user", content = "again" } },
        };
        Assert.DoesNotContain(Disclosure, await Content(client, later));
    }

    [Fact]
    public async Task A_seed_reproduces_a_sampled_reply()
    {
        var client = await _factory.StartedClient();
        var seeded = Body(maxTokens: 16, extra: new { temperature = 1.0, top_p = 0.9, seed = 1234 });
        Assert.Equal(await Content(client, seeded), await Content(client, seeded));
    }

    [Fact]
    public async Task Concurrent_requests_are_batched_and_each_gets_the_reply_it_gets_alone()
    {
        var client = await _factory.StartedClient();
        object[] bodies = [.. Enumerable.Range(0, 6).Select(i =>
            Body($"question {i}: " + new string('x', 10 * i), maxTokens: 24 + 8 * i, extra: new { temperature = 0.9, top_p = 0.8, seed = 100 + i }))];
        var alone = new List<string>();
        foreach (var body in bodies) alone.Add(await Content(client, body));
        var together = await Task.WhenAll(bodies.Select(body => Content(client, body)));
        Assert.Equal(alone, together);
        var metrics = await client.GetStringAsync("/metrics");
        Assert.Contains("inference_chat_batch_size_count", metrics);
        Assert.Contains("inference_kv_cache_usage_ratio", metrics);
    }

    [Fact]
    public async Task A_stream_is_framed_as_OpenAI_server_sent_events_and_equals_the_plain_reply()
    {
        var client = await _factory.StartedClient();
        var plain = await Content(client, Body(maxTokens: 12));
        var response = await client.PostAsJsonAsync("/v1/chat/completions", Body(maxTokens: 12, stream: true, extra: new { stream_options = new { include_usage = true } }));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        var raw = await response.Content.ReadAsStringAsync();
        var events = raw.Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.EndsWith("\n\n", raw);
        Assert.All(events, e => Assert.StartsWith("data: ", e));
        Assert.Equal("data: [DONE]", events[^1]);
        var chunks = events[..^1].Select(e => JsonSerializer.Deserialize<ChatCompletionChunk>(e["data: ".Length..])!).ToList();
        Assert.All(chunks, c => Assert.Equal("chat.completion.chunk", c.Object));
        Assert.Single(chunks.Select(c => c.Id).Distinct());
        Assert.Equal("assistant", chunks[0].Choices[0].Delta.Role);
        Assert.Equal(Disclosure, chunks[0].AiDisclosure);
        var usage = chunks[^1];
        Assert.Empty(usage.Choices);
        Assert.NotNull(usage.Usage);
        var last = chunks[^2].Choices[0];
        Assert.Contains(last.FinishReason, new[] { "stop", "length" });
        Assert.All(chunks[..^2], c => Assert.Null(c.Choices[0].FinishReason));
        Assert.Equal(plain, string.Concat(chunks.SelectMany(c => c.Choices).Select(c => c.Delta.Content)));
    }

    [Fact]
    public async Task A_message_showing_risk_gets_the_crisis_notice_marked_on_choice_and_header()
    {
        var client = await _factory.StartedClient();
        var response = await client.PostAsJsonAsync("/v1/chat/completions", Body("I want to KILL   myself"));
        var completion = (await response.Content.ReadFromJsonAsync<ChatCompletion>())!;
        Assert.Equal("true", response.Headers.GetValues(ChatEndpoints.CrisisHeader).Single());
        Assert.True(completion.Choices[0].CrisisNotice);
        Assert.StartsWith(new ChatSafetyOptions().CrisisNotice + "\n\n", completion.Choices[0].Message.Content);

        var chinese = await client.PostAsJsonAsync("/v1/chat/completions", Body("我真的不想活了", stream: true));
        Assert.Equal("true", chinese.Headers.GetValues(ChatEndpoints.CrisisHeader).Single());
        Assert.Contains("\"crisis_notice\":true", await chinese.Content.ReadAsStringAsync());
    }

    public static TheoryData<string, HttpStatusCode, string, string> BadRequests => new()
    {
        { """{"model": "demo-tiny-llama", "messages": [{"role": "user", "content": "hi"}], "n": 9}""", HttpStatusCode.BadRequest, "n must be between 1 and 8", "n" },
        { """{"model": "demo-tiny-llama", "messages": [{"role": "user", "content": "hi"}], "n": 0}""", HttpStatusCode.BadRequest, "n must be between 1 and 8", "n" },
        { """{"model": "demo-tiny-llama", "messages": [{"role": "user", "content": "hi"}], "temperature": 3}""", HttpStatusCode.BadRequest, "temperature must be between 0 and 2", "temperature" },
        { """{"model": "demo-tiny-llama", "messages": [{"role": "user", "content": "hi"}], "top_p": 0}""", HttpStatusCode.BadRequest, "top_p must be", "top_p" },
        { """{"model": "demo-tiny-llama", "messages": [{"role": "user", "content": "hi"}], "stop": ["a", "b", "c", "d", "e"]}""", HttpStatusCode.BadRequest, "at most 4", "stop" },
        { """{"model": "demo-tiny-llama", "messages": []}""", HttpStatusCode.BadRequest, "at least one user message", "messages" },
        { """{"model": "demo-tiny-llama", "messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]}""", HttpStatusCode.BadRequest, "last message must be from the user", "messages" },
        { """{"model": "demo-tiny-llama", "messages": [{"role": "tool", "content": "hi"}]}""", HttpStatusCode.BadRequest, "role must be system, user or assistant", "messages" },
        { """{"messages": [{"role": "user", "content": "hi"}]}""", HttpStatusCode.BadRequest, "model is required", "model" },
        { """{"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}""", HttpStatusCode.NotFound, "does not exist here", "model" },
    };

    [Theory, MemberData(nameof(BadRequests))]
    public async Task Errors_use_the_OpenAI_envelope(string body, HttpStatusCode status, string message, string param)
    {
        var client = await _factory.StartedClient();
        var response = await client.PostAsync("/v1/chat/completions", new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.Equal(status, response.StatusCode);
        var error = (await response.Content.ReadFromJsonAsync<OpenAiErrorResponse>())!.Error;
        Assert.Contains(message, error.Message);
        Assert.Equal(param, error.Param);
        Assert.Equal("invalid_request_error", error.Type);
    }

    [Fact]
    public async Task Unreadable_json_and_an_overlong_last_message_get_the_envelope_too()
    {
        var client = await _factory.StartedClient();
        var broken = await client.PostAsync("/v1/chat/completions", new StringContent("""{"model": "demo-tiny-llama", "messages": 7}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, broken.StatusCode);
        Assert.Contains("$.messages", (await broken.Content.ReadFromJsonAsync<OpenAiErrorResponse>())!.Error.Message);

        var tooLong = await client.PostAsJsonAsync("/v1/chat/completions", Body(new string('x', 2000)));
        Assert.Equal(HttpStatusCode.BadRequest, tooLong.StatusCode);
        var error = (await tooLong.Content.ReadFromJsonAsync<OpenAiErrorResponse>())!.Error;
        Assert.Contains("input budget is 1536 tokens", error.Message);
        Assert.Equal("messages", error.Param);
    }

    [Fact]
    public async Task Stop_strings_and_content_parts_are_accepted()
    {
        var client = await _factory.StartedClient();
        var body = new
        {
            model = Model, temperature = 0, max_tokens = 4, stop = "\u0001",
            messages = new object[] { new { role = "user", content = new[] { new { type = "text", text = "你好" } } } },
        };
        var response = await client.PostAsJsonAsync("/v1/chat/completions", body);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    static async Task<string> Content(HttpClient client, object body)
    {
        var response = await client.PostAsJsonAsync("/v1/chat/completions", body);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<ChatCompletion>())!.Choices[0].Message.Content;
    }
}
