using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Service.Contracts;
using Service.Tests.Support;

namespace Service.Tests.Api.Endpoints;

/// <summary>
/// logprobs and top_logprobs of the Qwen2 fixture over HTTP, plain and streamed, against the float64 PyTorch
/// reference of tests/fixtures/chat/generate.py (logprobs-expected.json): greedy (raw softmax) and a case with
/// repetition penalty and temperature (top_k 1 makes the token the reference's argmax while the reported
/// distribution is the untruncated one).
/// </summary>
public sealed class ChatLogprobsHttpTests(ChatLogprobsHttpTests.Server server) : IClassFixture<ChatLogprobsHttpTests.Server>
{
    public sealed class Server : IDisposable
    {
        public ServiceFactory Factory { get; } = new(ChatCheckpointHttpTests.Settings());
        public void Dispose() => Factory.Dispose();
    }

    public sealed record Expected(
        [property: JsonPropertyName("user")] string User,
        [property: JsonPropertyName("max_tokens")] int MaxTokens,
        [property: JsonPropertyName("top_logprobs")] int TopLogprobs,
        [property: JsonPropertyName("cases")] IReadOnlyList<Case> Cases);

    public sealed record Case(
        [property: JsonPropertyName("name")] string Name,
        [property: JsonPropertyName("temperature")] double Temperature,
        [property: JsonPropertyName("repetition_penalty")] double RepetitionPenalty,
        [property: JsonPropertyName("top_k")] int TopK,
        [property: JsonPropertyName("reply_text")] string ReplyText,
        [property: JsonPropertyName("tokens")] IReadOnlyList<Entry> Tokens,
        [property: JsonPropertyName("first_logprobs")] double[]? FirstLogprobs = null);

    public sealed record Entry(
        [property: JsonPropertyName("id")] int Id,
        [property: JsonPropertyName("token")] string Token,
        [property: JsonPropertyName("bytes")] int[] Bytes,
        [property: JsonPropertyName("logprob")] double Logprob,
        [property: JsonPropertyName("top")] IReadOnlyList<Entry>? Top);

    public static Expected Reference() =>
        JsonSerializer.Deserialize<Expected>(File.ReadAllText(Path.Combine(ChatFixtures.Dir(ChatFixtures.Qwen2), "logprobs-expected.json")))!;

    const double Tolerance = 1e-4; // float32 service against the float64 reference

    public static object Body(Expected e, Case c, bool stream = false, int? top = null) => new
    {
        model = ChatFixtures.Qwen2,
        messages = new[] { new { role = "user", content = e.User } },
        temperature = c.Temperature,
        repetition_penalty = c.RepetitionPenalty,
        top_k = c.TopK,
        max_tokens = e.MaxTokens,
        logprobs = true,
        top_logprobs = top ?? e.TopLogprobs,
        stream,
    };

    [Theory]
    [InlineData("greedy")]
    [InlineData("temperature")]
    public async Task Each_token_has_the_reference_log_probability_text_bytes_and_alternatives(string name)
    {
        var expected = Reference();
        var c = expected.Cases.Single(x => x.Name == name);
        var client = await server.Factory.StartedClient();
        var response = await client.PostAsJsonAsync("/v1/chat/completions", Body(expected, c));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var choice = (await response.Content.ReadFromJsonAsync<ChatCompletion>())!.Choices[0];
        Assert.Equal(c.ReplyText, choice.Message.Content);
        AssertMatches(c.Tokens, choice.Logprobs!.Content);
        // The tokens' bytes, joined, are the reply: also where a token is a piece of a UTF-8 character.
        var bytes = choice.Logprobs.Content.SelectMany(t => t.Bytes).Select(b => (byte)b).ToArray();
        Assert.Equal(choice.Message.Content, Encoding.UTF8.GetString(bytes));
    }

    internal static void AssertMatches(IReadOnlyList<Entry> expected, IReadOnlyList<ChatTokenLogprob> actual)
    {
        Assert.Equal(expected.Count, actual.Count);
        for (int i = 0; i < expected.Count; i++)
        {
            var (e, a) = (expected[i], actual[i]);
            Assert.Equal(e.Token, a.Token);
            Assert.Equal(e.Bytes, a.Bytes);
            Assert.True(Math.Abs(e.Logprob - a.Logprob) < Tolerance, $"token {i}: logprob {a.Logprob}, reference {e.Logprob}");
            Assert.Equal(e.Top!.Count, a.TopLogprobs.Count);
            for (int k = 0; k < e.Top.Count; k++)
            {
                Assert.Equal(e.Top[k].Token, a.TopLogprobs[k].Token);
                Assert.Equal(e.Top[k].Bytes, a.TopLogprobs[k].Bytes);
                Assert.True(Math.Abs(e.Top[k].Logprob - a.TopLogprobs[k].Logprob) < Tolerance,
                    $"token {i}, alternative {k}: logprob {a.TopLogprobs[k].Logprob}, reference {e.Top[k].Logprob}");
            }
        }
    }

    [Fact]
    public async Task A_stream_carries_each_tokens_entry_once_in_order_with_the_text_it_belongs_to()
    {
        var expected = Reference();
        var c = expected.Cases.Single(x => x.Name == "temperature");
        var client = await server.Factory.StartedClient();
        var response = await client.PostAsJsonAsync("/v1/chat/completions", Body(expected, c, stream: true));
        var events = (await response.Content.ReadAsStringAsync()).Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        var chunks = events[..^1].Select(e => JsonSerializer.Deserialize<ChatCompletionChunk>(e["data: ".Length..])!).ToList();
        var withEntries = chunks.Where(ch => ch.Choices.Count > 0 && ch.Choices[0].Logprobs is not null).ToList();
        Assert.True(withEntries.Count > 1, "entries arrive over several chunks");
        // Bytes of a chunk's entries end where its text ends: every byte sent so far decodes to the text sent so far,
        // up to an unfinished character held back.
        var sentBytes = new List<byte>();
        var sentText = new StringBuilder();
        foreach (var chunk in chunks.Where(ch => ch.Choices.Count > 0))
        {
            sentText.Append(chunk.Choices[0].Delta.Content);
            sentBytes.AddRange(chunk.Choices[0].Logprobs?.Content.SelectMany(t => t.Bytes).Select(b => (byte)b) ?? []);
            Assert.StartsWith(sentText.ToString(), Encoding.UTF8.GetString([.. sentBytes]));
        }
        AssertMatches(c.Tokens, [.. withEntries.SelectMany(ch => ch.Choices[0].Logprobs!.Content)]);
        Assert.Equal(c.ReplyText, sentText.ToString());
    }

    [Theory]
    [InlineData(21, true, "top_logprobs must be between 0 and 20")]
    [InlineData(-1, true, "top_logprobs must be between 0 and 20")]
    [InlineData(3, false, "top_logprobs needs logprobs: true")]
    public async Task Bad_top_logprobs_is_a_400_naming_the_field(int top, bool logprobs, string message)
    {
        var client = await server.Factory.StartedClient();
        var response = await client.PostAsJsonAsync("/v1/chat/completions", new
        {
            model = ChatFixtures.Qwen2, messages = new[] { new { role = "user", content = "Hi" } }, max_tokens = 2, logprobs, top_logprobs = top,
        });
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = (await response.Content.ReadFromJsonAsync<OpenAiErrorResponse>())!.Error;
        Assert.Equal("top_logprobs", error.Param);
        Assert.Contains(message, error.Message);
    }

    [Fact]
    public async Task Without_logprobs_a_choice_has_none_and_with_top_0_it_has_no_alternatives()
    {
        var client = await server.Factory.StartedClient();
        var messages = new[] { new { role = "user", content = "Hi" } };
        var off = await client.PostAsJsonAsync("/v1/chat/completions", new { model = ChatFixtures.Qwen2, messages, max_tokens = 3, temperature = 0 });
        Assert.False(JsonDocument.Parse(await off.Content.ReadAsStringAsync()).RootElement.GetProperty("choices")[0].TryGetProperty("logprobs", out _));
        var on = await client.PostAsJsonAsync("/v1/chat/completions", new { model = ChatFixtures.Qwen2, messages, max_tokens = 3, temperature = 0, logprobs = true });
        var content = (await on.Content.ReadFromJsonAsync<ChatCompletion>())!.Choices[0].Logprobs!.Content;
        Assert.Equal(3, content.Count);
        Assert.All(content, t => Assert.Empty(t.TopLogprobs));
        Assert.All(content, t => Assert.InRange(t.Logprob, -50, 0));
    }
}
