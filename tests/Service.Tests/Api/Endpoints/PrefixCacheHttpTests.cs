using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using Service.Contracts;
using Service.Inference.Chat;
using Service.Tests.Support;

namespace Service.Tests.Api.Endpoints;

/// <summary>
/// Prefix caching over POST /v1/chat/completions: a conversation's later turns, served from the cache, get the replies
/// a service without the cache gives; the Qwen2 fixture's reply from the cache still equals its float64 reference;
/// hits and queries reach /metrics (process-wide counters, hence the collection that runs alone).
/// </summary>
[Collection(ProcessWideMeters.Name)]
public sealed class PrefixCacheHttpTests
{
    const string Model = "demo-tiny-llama";

    static async Task<ChatCompletion> Complete(HttpClient client, object body)
    {
        var response = await client.PostAsJsonAsync("/v1/chat/completions", body);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<ChatCompletion>())!;
    }

    /// <summary>Three turns of one conversation, each reply fed back as the assistant's message; returns the replies.</summary>
    static async Task<List<string>> Converse(HttpClient client, double temperature, long? seed)
    {
        string[] said = ["I feel alone since I moved to a new city.", "Yes, I tried a club once but left early.", "Maybe. What would be a small first step?"];
        var messages = new List<object>();
        var replies = new List<string>();
        foreach (var user in said)
        {
            messages.Add(new { role = "user", content = user });
            var completion = await Complete(client, new { model = Model, messages, temperature, top_p = 0.9, seed, max_tokens = 16 });
            var reply = completion.Choices[0].Message.Content;
            replies.Add(reply);
            messages.Add(new { role = "assistant", content = reply });
        }
        return replies;
    }

    static double Metric(string text, string name) =>
        text.Split('\n').Where(l => l.StartsWith(name + " ", StringComparison.Ordinal))
            .Sum(l => double.Parse(l[(l.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture));

    [Fact]
    public async Task A_conversation_served_from_the_cache_gets_the_replies_of_a_service_without_it_and_hits_are_exported()
    {
        using var cachedService = new ServiceFactory();
        using var plainService = new ServiceFactory(new Dictionary<string, string?> { ["Chat:Batching:PrefixCaching"] = "false" });
        var cached = await cachedService.StartedClient();
        var plain = await plainService.StartedClient();
        var scheduler = cachedService.Services.GetRequiredService<ChatScheduler>();

        var before = await cached.GetStringAsync("/metrics");
        foreach (var (temperature, seed) in new (double, long?)[] { (0, null), (0.9, 3) })
            Assert.Equal(await Converse(plain, temperature, seed), await Converse(cached, temperature, seed));

        Assert.Equal(0, plainService.Services.GetRequiredService<ChatScheduler>().PrefixQueryTokens);
        Assert.True(scheduler.PrefixHitTokens > 0);
        var after = await cached.GetStringAsync("/metrics");
        // Other hosts in this process (the plain one) count nothing, so the exported growth is this scheduler's.
        Assert.Equal(scheduler.PrefixHitTokens, Metric(after, "inference_prefix_cache_hits_total") - Metric(before, "inference_prefix_cache_hits_total"));
        Assert.Equal(scheduler.PrefixQueryTokens, Metric(after, "inference_prefix_cache_queries_total") - Metric(before, "inference_prefix_cache_queries_total"));
    }

    [Fact]
    public async Task The_fixture_reply_served_from_the_cache_still_equals_the_float64_reference()
    {
        using var factory = new ServiceFactory(ChatCheckpointHttpTests.Settings());
        var client = await factory.StartedClient();
        var scheduler = factory.Services.GetRequiredService<ChatScheduler>();
        var expected = ChatCheckpointHttpTests.Expected();
        var body = new { model = ChatFixtures.Qwen2, temperature = 0, max_completion_tokens = expected.MaxTokens, messages = new[] { new { role = "user", content = expected.User } } };
        Assert.Equal(expected.ReplyText, (await Complete(client, body)).Choices[0].Message.Content);
        Assert.Equal(0, scheduler.PrefixHitTokens);

        var fromCache = await Complete(client, body);
        Assert.Equal(expected.PromptIds.Length - 1, scheduler.PrefixHitTokens); // all but the last prompt token
        Assert.Equal(expected.ReplyText, fromCache.Choices[0].Message.Content);
        Assert.Equal(expected.ReplyIds.Length, fromCache.Usage.CompletionTokens);
    }

    [Fact]
    public async Task ChatGLM_is_never_served_from_the_cache_nor_from_another_choice()
    {
        using var factory = new ServiceFactory(new Dictionary<string, string?> { ["Models:Chat:Path"] = ChatFixtures.Dir(ChatFixtures.ChatGlm), ["Chat:Safety:AiDisclosure"] = "" });
        var client = await factory.StartedClient();
        var body = new { model = ChatFixtures.ChatGlm, temperature = 0, max_tokens = 4, messages = new[] { new { role = "user", content = "你好" } } };
        var first = await Complete(client, body);
        Assert.Equal(first.Choices[0].Message.Content, (await Complete(client, body)).Choices[0].Message.Content);
        var scheduler = factory.Services.GetRequiredService<ChatScheduler>();
        Assert.Equal((0L, 0L), (scheduler.PrefixCacheBytes, scheduler.PrefixQueryTokens));

        // Nor do its extra choices copy choice 0's prompt: each runs the whole prompt and gets the same greedy reply.
        var two = await Complete(client, new { model = ChatFixtures.ChatGlm, temperature = 0, max_tokens = 4, n = 2, messages = new[] { new { role = "user", content = "你好" } } });
        Assert.All(two.Choices, c => Assert.Equal(first.Choices[0].Message.Content, c.Message.Content));
    }
}
