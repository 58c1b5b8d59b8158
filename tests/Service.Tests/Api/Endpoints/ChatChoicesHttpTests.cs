using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Service.Contracts;
using Service.Tests.Support;

namespace Service.Tests.Api.Endpoints;

/// <summary>
/// `n` > 1 over HTTP on the demo chat model: n choices in index order, each reproducible with seed + k (the reply a
/// request with n = 1 and that seed gets), streamed with their index and one finish_reason each, usage summed.
/// </summary>
public sealed class ChatChoicesHttpTests : IClassFixture<ChatHttpTests.DemoService>
{
    const string Model = "demo-tiny-llama";
    readonly ServiceFactory _factory;

    public ChatChoicesHttpTests(ChatHttpTests.DemoService service) => _factory = service.Factory;

    static Dictionary<string, object?> Body(int n, long? seed, double temperature = 0.9, bool stream = false) => new()
    {
        ["model"] = Model,
        ["messages"] = new[] { new { role = "user", content = "I keep worrying about tomorrow's interview." } },
        ["temperature"] = temperature,
        ["max_tokens"] = 14,
        ["n"] = n,
        ["seed"] = seed,
        ["stream"] = stream,
        ["stream_options"] = stream ? new { include_usage = true } : null,
    };

    async Task<ChatCompletion> Complete(HttpClient client, Dictionary<string, object?> body)
    {
        var response = await client.PostAsJsonAsync("/v1/chat/completions", body);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<ChatCompletion>())!;
    }

    [Fact]
    public async Task Each_seeded_choice_is_the_reply_of_a_single_request_seeded_with_seed_plus_its_index()
    {
        var client = await _factory.StartedClient();
        var together = await Complete(client, Body(3, 40));
        Assert.Equal([0, 1, 2], together.Choices.Select(c => c.Index));
        var alone = new List<ChatCompletion>();
        for (int k = 0; k < 3; k++) alone.Add(await Complete(client, Body(1, 40 + k)));
        for (int k = 0; k < 3; k++)
        {
            Assert.Equal(alone[k].Choices[0].Message.Content, together.Choices[k].Message.Content);
            Assert.Equal(alone[k].Choices[0].FinishReason, together.Choices[k].FinishReason);
        }
        Assert.True(together.Choices.Select(c => c.Message.Content).Distinct().Count() > 1, "different seeds should give different samples");
        Assert.Equal(alone[0].Usage.PromptTokens, together.Usage.PromptTokens);
        Assert.Equal(alone.Sum(a => a.Usage.CompletionTokens), together.Usage.CompletionTokens);
        Assert.Equal(together.Usage.PromptTokens + together.Usage.CompletionTokens, together.Usage.TotalTokens);

        var again = await Complete(client, Body(3, 40));
        Assert.Equal(together.Choices.Select(c => c.Message.Content), again.Choices.Select(c => c.Message.Content));
    }

    [Fact]
    public async Task Greedy_choices_all_equal_the_greedy_reply()
    {
        var client = await _factory.StartedClient();
        var single = await Complete(client, Body(1, null, temperature: 0));
        var two = await Complete(client, Body(2, null, temperature: 0));
        Assert.All(two.Choices, c => Assert.Equal(single.Choices[0].Message.Content, c.Message.Content));
        Assert.Equal(2 * single.Usage.CompletionTokens, two.Usage.CompletionTokens);
    }

    [Fact]
    public async Task A_stream_of_choices_carries_each_index_one_finish_reason_each_and_the_summed_usage()
    {
        var client = await _factory.StartedClient();
        var plain = await Complete(client, Body(4, 7));
        var response = await client.PostAsJsonAsync("/v1/chat/completions", Body(4, 7, stream: true));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var events = (await response.Content.ReadAsStringAsync()).Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("data: [DONE]", events[^1]);
        var chunks = events[..^1].Select(e => JsonSerializer.Deserialize<ChatCompletionChunk>(e["data: ".Length..])!).ToList();
        var choices = chunks.SelectMany(c => c.Choices).ToList();
        for (int k = 0; k < 4; k++)
        {
            var mine = choices.Where(c => c.Index == k).ToList();
            Assert.Equal("assistant", mine[0].Delta.Role);
            Assert.Equal(plain.Choices[k].Message.Content, string.Concat(mine.Select(c => c.Delta.Content)));
            var finish = Assert.Single(mine, c => c.FinishReason is not null);
            Assert.Equal(plain.Choices[k].FinishReason, finish.FinishReason);
            Assert.Same(finish, mine[^1]);
        }
        Assert.All(choices, c => Assert.InRange(c.Index, 0, 3));
        Assert.Equal(plain.Usage, chunks[^1].Usage);
    }

    [Fact]
    public async Task Each_choice_carries_its_own_logprobs_plain_and_streamed()
    {
        var client = await _factory.StartedClient();
        Dictionary<string, object?> WithLogprobs(Dictionary<string, object?> body)
        {
            body["logprobs"] = true;
            body["top_logprobs"] = 3;
            return body;
        }
        // The same tokens and alternatives; values to float rounding (a batch of two runs other kernels than one row).
        static void AssertSameEntries(IReadOnlyList<ChatTokenLogprob> expected, IReadOnlyList<ChatTokenLogprob> actual)
        {
            Assert.Equal(expected.Select(e => e.Token), actual.Select(e => e.Token));
            for (int i = 0; i < expected.Count; i++)
            {
                Assert.Equal(expected[i].Logprob, actual[i].Logprob, 1e-5);
                Assert.Equal(expected[i].TopLogprobs.Select(t => t.Token), actual[i].TopLogprobs.Select(t => t.Token));
                Assert.Equal(expected[i].TopLogprobs.Select(t => t.Logprob), actual[i].TopLogprobs.Select(t => t.Logprob), (a, b) => Math.Abs(a - b) < 1e-5);
            }
        }

        var together = await Complete(client, WithLogprobs(Body(2, 21)));
        var response = await client.PostAsJsonAsync("/v1/chat/completions", WithLogprobs(Body(2, 21, stream: true)));
        var events = (await response.Content.ReadAsStringAsync()).Split("\n\n", StringSplitOptions.RemoveEmptyEntries)[..^1];
        var streamed = events.Select(e => JsonSerializer.Deserialize<ChatCompletionChunk>(e["data: ".Length..])!).SelectMany(c => c.Choices).ToList();
        for (int k = 0; k < 2; k++)
        {
            var alone = (await Complete(client, WithLogprobs(Body(1, 21 + k)))).Choices[0].Logprobs!.Content;
            Assert.NotEmpty(alone);
            AssertSameEntries(alone, together.Choices[k].Logprobs!.Content);
            AssertSameEntries(alone, [.. streamed.Where(c => c.Index == k && c.Logprobs is not null).SelectMany(c => c.Logprobs!.Content)]);
        }
    }
}
