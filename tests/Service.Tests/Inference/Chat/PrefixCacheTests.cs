using Service.Inference.Chat;
using Service.Inference.Generation;
using Service.Inference.Hosting;
using Service.Tests.Support;

namespace Service.Tests.Inference.Chat;

/// <summary>
/// Automatic prefix caching in the scheduler, on the demo chat model (a Llama with grouped-query attention): a
/// conversation's next turn continues from the previous turn's cached keys and values, and every reply equals the
/// one the same request gets from the plain generation loop (GenerationLoop, which has no cache).
/// </summary>
public sealed class PrefixCacheTests : IDisposable
{
    readonly DemoChatHost _demo = new();
    ModelHost Host => _demo.Host;

    public void Dispose() => _demo.Dispose();

    ChatEngine Engine => _demo.Engine;

    Task<GenerationResult> Alone(ChatQuery query) => _demo.Alone(query);

    static ChatQuery Turn(string user, double temperature, long? seed, int maxTokens = 20, params ChatMessage[] history) =>
        new([.. history, new(ChatRole.User, user)], Temperature: temperature, TopP: 0.9, MaxTokens: maxTokens, Seed: seed);

    static void AssertSame(GenerationResult expected, GenerationResult actual) => DemoChatHost.AssertSame(expected, actual);

    ManualResetEventSlim BlockHost() => _demo.BlockHost();

    [Theory]
    [InlineData(0.0, null)]  // greedy
    [InlineData(0.9, 17L)]   // seeded sampling: the generator starts where an uncached request's does
    public async Task The_next_turn_continues_from_the_cached_turn_and_replies_as_without_the_cache(double temperature, long? seed)
    {
        var scheduler = new ChatScheduler(Host, new ChatBatchingOptions { PrefixCaching = true });
        var first = Turn("I have not slept well for weeks and I worry about my exams.", temperature, seed);
        var firstReply = await scheduler.SubmitAsync(Engine.Prepare(first), _ => { });
        AssertSame(await Alone(first), firstReply);
        Assert.Equal(0, scheduler.PrefixHitTokens);

        var second = Turn("What could I try tonight?", temperature, seed, 20, [.. first.Messages, new(ChatRole.Assistant, firstReply.Text)]);
        var prepared = Engine.Prepare(second);
        var secondReply = await scheduler.SubmitAsync(prepared, _ => { });
        AssertSame(await Alone(second), secondReply);
        // Turn 1's whole prompt was reused (and its reply, as far as turn 2 tokenizes it the same way).
        Assert.InRange(scheduler.PrefixHitTokens, firstReply.PromptTokens, prepared.Generation.PromptIds.Length - 1);
        Assert.Equal(firstReply.PromptTokens + prepared.Generation.PromptIds.Length, scheduler.PrefixQueryTokens);

        // The very same prompt again: everything but its last token comes from the cache.
        long before = scheduler.PrefixHitTokens;
        AssertSame(secondReply, await scheduler.SubmitAsync(Engine.Prepare(second), _ => { }));
        Assert.Equal(prepared.Generation.PromptIds.Length - 1, scheduler.PrefixHitTokens - before);
    }

    [Fact]
    public async Task With_caching_off_nothing_is_kept_or_reused()
    {
        var scheduler = new ChatScheduler(Host, new ChatBatchingOptions { PrefixCaching = false });
        var query = Turn("hello again", 0, null);
        AssertSame(await scheduler.SubmitAsync(Engine.Prepare(query), _ => { }), await scheduler.SubmitAsync(Engine.Prepare(query), _ => { }));
        Assert.Equal((0L, 0L, 0L), (scheduler.PrefixCacheBytes, scheduler.PrefixQueryTokens, scheduler.PrefixHitTokens));
    }

    [Fact]
    public async Task A_small_budget_evicts_the_least_recently_used_prefix_and_never_overflows()
    {
        ChatQuery[] conversations = [.. new[] { "first topic: work", "second topic: family", "third topic: sleep" }.Select(u => Turn(u, 0, null, 12))];
        var prepared = conversations.Select(q => Engine.Prepare(q)).ToArray();
        long need = prepared.Max(p => (long)(p.Generation.PromptIds.Length + p.Generation.MaxNewTokens)) * Engine.Bundle.Model.KvBytesPerPosition;
        long budget = need * 2; // a running request and one cached turn fit, never a running request and two cached turns
        var scheduler = new ChatScheduler(Host, new ChatBatchingOptions { KvCacheBudgetMB = budget / (double)(1 << 20) });
        long peak = 0;
        scheduler.BatchRan += _ => peak = Math.Max(peak, scheduler.ReservedBytes + scheduler.PrefixCacheBytes);

        foreach (var p in prepared) await scheduler.SubmitAsync(p, _ => { });
        Assert.InRange(peak, need, budget);
        Assert.InRange(scheduler.PrefixCacheBytes, 1, budget);

        // The third (most recent) is cached whole; the first was evicted, only the format's common opening still matches.
        long hits = scheduler.PrefixHitTokens;
        var third = await scheduler.SubmitAsync(Engine.Prepare(conversations[2]), _ => { });
        Assert.Equal(prepared[2].Generation.PromptIds.Length - 1, scheduler.PrefixHitTokens - hits);
        hits = scheduler.PrefixHitTokens;
        var first = await scheduler.SubmitAsync(Engine.Prepare(conversations[0]), _ => { });
        int common = prepared[0].Generation.PromptIds.Zip(prepared[2].Generation.PromptIds).TakeWhile(p => p.First == p.Second).Count();
        Assert.Equal(common, scheduler.PrefixHitTokens - hits);
        Assert.True(common < prepared[0].Generation.PromptIds.Length - 1);
        AssertSame(await Alone(conversations[2]), third);
        AssertSame(await Alone(conversations[0]), first);
    }

    [Fact]
    public async Task A_request_waiting_for_running_ones_evicts_nothing_it_could_not_use_yet()
    {
        var query = Turn("a short question about stress", 0, null, 8);
        var large = Turn("a long answer while the short one waits", 0, null, 60);
        long bytes = Engine.Bundle.Model.KvBytesPerPosition;
        long needQuery = (Engine.Prepare(query).Generation.PromptIds.Length + 8) * bytes, needLarge = (Engine.Prepare(large).Generation.PromptIds.Length + 60) * bytes;
        // Both together never fit; the large one fits beside the query's cached turn.
        var scheduler = new ChatScheduler(Host, new ChatBatchingOptions { KvCacheBudgetMB = (needQuery + needLarge - bytes / 2) / (double)(1 << 20) });
        var expected = await scheduler.SubmitAsync(Engine.Prepare(query), _ => { });

        long hits = scheduler.PrefixHitTokens;
        Task<GenerationResult> running, waiting;
        using (var gate = BlockHost())
        {
            running = scheduler.SubmitAsync(Engine.Prepare(large), _ => { });
            waiting = scheduler.SubmitAsync(Engine.Prepare(query), _ => { });
            gate.Set();
        }
        await running;
        AssertSame(expected, await waiting);
        int[] queryIds = Engine.Prepare(query).Generation.PromptIds, largeIds = Engine.Prepare(large).Generation.PromptIds;
        int opening = queryIds.Zip(largeIds).TakeWhile(p => p.First == p.Second).Count(); // what the large one found of the cached turn
        Assert.Equal(opening + queryIds.Length - 1, scheduler.PrefixHitTokens - hits); // the query's cached turn survived its wait
    }

    [Fact]
    public async Task A_cancelled_request_leaves_nothing_to_reuse()
    {
        var scheduler = new ChatScheduler(Host, new ChatBatchingOptions());
        var query = Turn("tell me a long story", 0, null, 200);
        using var leave = new CancellationTokenSource();
        int deltas = 0;
        var left = await scheduler.SubmitAsync(Engine.Prepare(query), _ => { if (++deltas == 2) leave.Cancel(); }, leave.Token);
        Assert.Equal(FinishReason.Cancelled, left.FinishReason);
        Assert.Equal(0, scheduler.PrefixCacheBytes);

        var again = await scheduler.SubmitAsync(Engine.Prepare(query), _ => { });
        Assert.Equal(0, scheduler.PrefixHitTokens);
        AssertSame(await Alone(query), again);
        Assert.True(scheduler.PrefixCacheBytes > 0); // a finished one is kept
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Choices_of_one_prompt_copy_its_cache_and_each_samples_with_seed_plus_its_index(bool prefixCaching)
    {
        // Small chunks and a stream already decoding: choice 0's prompt takes several steps, which the others wait out.
        var scheduler = new ChatScheduler(Host, new ChatBatchingOptions { PrefillChunkTokens = 3, PrefixCaching = prefixCaching });
        var background = Turn("keep talking while the others start", 0, null, 30);
        var query = Turn("Three ways to calm down before an exam, please.", 1.0, 100, 18);
        var streamed = Enumerable.Range(0, 4).Select(_ => new System.Text.StringBuilder()).ToArray();
        Task<GenerationResult> running;
        Task<GenerationResult>[] choices;
        using (var gate = BlockHost())
        {
            running = scheduler.SubmitAsync(Engine.Prepare(background), _ => { });
            choices = scheduler.SubmitChoicesAsync(Engine.Prepare(query), 4, (k, delta) => streamed[k].Append(delta.Text));
            gate.Set();
        }
        var results = await Task.WhenAll(choices);
        for (int k = 0; k < results.Length; k++)
        {
            AssertSame(await Alone(query with { Seed = 100 + k }), results[k]);
            Assert.Equal(results[k].Text, streamed[k].ToString());
        }
        AssertSame(await Alone(background), await running);
        Assert.Equal(0, scheduler.ReservedBytes);
    }

    /// <summary>
    /// Requests whose whole prompt but the last token comes from the cache run that token as rows of one decode step
    /// (not a forward each), and still reply exactly as alone.
    /// </summary>
    [Fact]
    public async Task Newcomers_left_with_their_last_prompt_token_run_it_together_in_one_decode_step()
    {
        var scheduler = new ChatScheduler(Host, new ChatBatchingOptions { MaxBatchSize = 8 });
        var opening = Turn("I feel tired and worried about my work.", 0, null, 6);
        await scheduler.SubmitAsync(Engine.Prepare(opening), _ => { });
        ChatQuery[] same = [Turn("I feel tired and worried about my work.", 0, null, 6), Turn("I feel tired and worried about my work.", 0.9, 3, 8),
            Turn("I feel tired and worried about my work.", 1.1, 4, 5)];
        var batches = new List<int>();
        scheduler.BatchRan += batches.Add;
        long hits = scheduler.PrefixHitTokens;
        Task<GenerationResult>[] replies;
        using (var gate = BlockHost())
        {
            replies = [.. same.Select(q => scheduler.SubmitAsync(Engine.Prepare(q), _ => { }))];
            gate.Set();
        }
        var results = await Task.WhenAll(replies);
        for (int i = 0; i < same.Length; i++) AssertSame(await Alone(same[i]), results[i]);
        Assert.Equal(same.Length * (results[0].PromptTokens - 1), scheduler.PrefixHitTokens - hits);
        Assert.Equal(same.Length, batches[0]); // the three last prompt tokens ran as one step of three rows,
        Assert.Equal(results.Max(r => r.CompletionTokens), batches.Count); // which gave every first token: no forward of their own
    }

    [Fact]
    public async Task Concurrent_requests_share_one_cached_prefix_in_a_chunked_batch()
    {
        var scheduler = new ChatScheduler(Host, new ChatBatchingOptions { PrefillChunkTokens = 5 });
        var opening = Turn("My sister and I argue every day.", 0, null, 16);
        var openingReply = await scheduler.SubmitAsync(Engine.Prepare(opening), _ => { });
        ChatMessage[] history = [.. opening.Messages, new(ChatRole.Assistant, openingReply.Text)];
        ChatQuery[] next =
        [
            Turn("Why does it happen?", 0, null, 16, history),
            Turn("How do I start a calm talk?", 0.9, 5, 24, history),
            Turn("Should I ask our parents?", 1.1, 9, 9, history),
        ];
        long hits = scheduler.PrefixHitTokens;
        Task<GenerationResult>[] replies;
        using (var gate = BlockHost())
        {
            replies = [.. next.Select(q => scheduler.SubmitAsync(Engine.Prepare(q), _ => { }))];
            gate.Set();
        }
        var results = await Task.WhenAll(replies);
        for (int i = 0; i < next.Length; i++) AssertSame(await Alone(next[i]), results[i]);
        Assert.True(scheduler.PrefixHitTokens - hits >= next.Length * openingReply.PromptTokens);
        Assert.Equal(0, scheduler.ReservedBytes);
    }
}
