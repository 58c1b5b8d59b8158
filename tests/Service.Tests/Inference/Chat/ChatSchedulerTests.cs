using Service.Inference;
using Service.Inference.Chat;
using Service.Inference.Generation;
using Service.Inference.Hosting;
using Service.Tests.Support;

namespace Service.Tests.Inference.Chat;

/// <summary>
/// Continuous batching on the demo chat model (a Llama with grouped-query attention): every reply
/// produced in a batch equals the reply the same request gets alone, whatever joins or leaves.
/// </summary>
public sealed class ChatSchedulerTests : IDisposable
{
    readonly DemoChatHost _demo = new();
    ModelHost Host => _demo.Host;

    public void Dispose() => _demo.Dispose();

    ChatEngine Engine => _demo.Engine;

    static readonly ChatQuery[] Queries =
    [
        new([new(ChatRole.User, "hello there")], Temperature: 0, MaxTokens: 24),
        new([new(ChatRole.User, "a much longer question, asked with many more words than the first one")], Temperature: 0.95, TopP: 0.75, MaxTokens: 40, Seed: 7),
        new([new(ChatRole.System, "Be brief."), new(ChatRole.User, "hi")], Temperature: 1.2, TopP: 0.9, MaxTokens: 17, Seed: 11, TopK: 50),
        new([new(ChatRole.User, "repeat after me")], Temperature: 0.7, TopP: 1, MaxTokens: 33, Seed: 3, RepetitionPenalty: 1.3),
        new([new(ChatRole.User, "one more")], Temperature: 0, MaxTokens: 5),
    ];

    Task<GenerationResult> Alone(ChatQuery query) => _demo.Alone(query);

    ManualResetEventSlim BlockHost() => _demo.BlockHost();

    static void AssertSame(GenerationResult expected, GenerationResult actual) => DemoChatHost.AssertSame(expected, actual);

    [Fact]
    public async Task Requests_decoded_together_get_the_replies_they_get_alone()
    {
        var alone = new List<GenerationResult>();
        foreach (var q in Queries) alone.Add(await Alone(q));

        var scheduler = new ChatScheduler(Host, new ChatBatchingOptions { MaxBatchSize = 8, PrefillChunkTokens = 48 });
        var sizes = new List<int>();
        scheduler.BatchRan += sizes.Add;
        var streamed = Queries.Select(_ => new System.Text.StringBuilder()).ToArray();
        Task<GenerationResult>[] batched;
        using (var gate = BlockHost())
        {
            batched = [.. Queries.Select((q, i) => scheduler.SubmitAsync(Engine.Prepare(q), d => streamed[i].Append(d.Text)))];
            gate.Set();
        }
        var results = await Task.WhenAll(batched);
        for (int i = 0; i < Queries.Length; i++)
        {
            AssertSame(alone[i], results[i]);
            Assert.Equal(results[i].Text, streamed[i].ToString());
        }
        Assert.Equal(Queries.Length, sizes.Max()); // all five decoded in one step at some point
        Assert.Equal(0, scheduler.ReservedBytes);
        Assert.Equal(0, scheduler.RunningCount);
    }

    [Fact]
    public async Task A_request_joins_a_running_batch_at_the_next_step_and_leaves_when_done()
    {
        // The newcomer's 27-token prompt runs in 4 chunks between decode steps, well inside the long
        // reply (its seeded draw stops after 20 tokens): chunks of 2 would outlast it.
        var scheduler = new ChatScheduler(Host, new ChatBatchingOptions { PrefillChunkTokens = 8 });
        var sizes = new List<int>();
        scheduler.BatchRan += sizes.Add;
        var late = Queries[4];
        var lateAlone = await Alone(late);
        var longAlone = await Alone(Queries[1]);
        var joined = new TaskCompletionSource<Task<GenerationResult>>();
        int deltas = 0;
        var first = scheduler.SubmitAsync(Engine.Prepare(Queries[1]), _ =>
        {
            // Runs on the host thread mid-generation: the newcomer is admitted at the next step.
            if (++deltas == 3) joined.SetResult(scheduler.SubmitAsync(Engine.Prepare(late), _ => { }));
        });
        var second = await await joined.Task;
        AssertSame(lateAlone, second);
        AssertSame(longAlone, await first);
        Assert.Contains(2, sizes);
        Assert.Equal(1, sizes[^1]); // the short newcomer left; the long one finished alone
    }

    [Fact]
    public async Task The_kv_budget_bounds_what_runs_at_once_and_the_rest_waits_its_turn()
    {
        var prepared = Queries.Select(q => Engine.Prepare(q)).ToArray();
        long[] needs = [.. prepared.Select(p => (long)(p.Generation.PromptIds.Length + p.Generation.MaxNewTokens) * Engine.Bundle.Model.KvBytesPerPosition)];
        long budget = needs.Max() * 3 / 2; // the largest fits, never all five at once
        var scheduler = new ChatScheduler(Host, new ChatBatchingOptions { KvCacheBudgetMB = budget / (double)(1 << 20) });
        long peak = 0;
        var sizes = new List<int>();
        scheduler.BatchRan += size => { sizes.Add(size); peak = Math.Max(peak, scheduler.ReservedBytes); };
        var alone = new List<GenerationResult>();
        foreach (var q in Queries) alone.Add(await Alone(q));
        var results = await Task.WhenAll(prepared.Select(p => scheduler.SubmitAsync(p, _ => { })));
        for (int i = 0; i < Queries.Length; i++) AssertSame(alone[i], results[i]);
        Assert.InRange(peak, needs.Min(), budget);
        Assert.InRange(sizes.Max(), 1, Queries.Length - 1);
    }

    [Fact]
    public void A_request_larger_than_the_whole_kv_budget_is_refused_with_what_to_change()
    {
        var scheduler = new ChatScheduler(Host, new ChatBatchingOptions { KvCacheBudgetMB = 0 });
        var error = Assert.Throws<InferenceException>(() => { _ = scheduler.SubmitAsync(Engine.Prepare(Queries[0]), _ => { }); });
        Assert.Equal(InferenceErrorKind.Invalid, error.Kind);
        Assert.Equal("max_tokens", error.Parameter);
        Assert.Contains("Chat:Batching:KvCacheBudgetMB", error.Message);
    }

    [Fact]
    public async Task Too_many_waiting_requests_are_refused_as_overloaded()
    {
        var scheduler = new ChatScheduler(Host, new ChatBatchingOptions { MaxWaiting = 2 });
        Task<GenerationResult>[] admitted;
        using (var gate = BlockHost())
        {
            admitted = [scheduler.SubmitAsync(Engine.Prepare(Queries[4]), _ => { }), scheduler.SubmitAsync(Engine.Prepare(Queries[4]), _ => { })];
            var refused = Assert.Throws<InferenceException>(() => { _ = scheduler.SubmitAsync(Engine.Prepare(Queries[4]), _ => { }); });
            Assert.Equal(InferenceErrorKind.Overloaded, refused.Kind);
            gate.Set();
        }
        Assert.All(await Task.WhenAll(admitted), r => Assert.Equal(5, r.CompletionTokens));
    }

    [Fact]
    public async Task A_departed_caller_leaves_the_batch_and_the_others_are_unaffected()
    {
        var scheduler = new ChatScheduler(Host, new ChatBatchingOptions());
        var stayAlone = await Alone(Queries[1]);
        using var leave = new CancellationTokenSource();
        int deltas = 0;
        Task<GenerationResult> leaving, staying;
        using (var gate = BlockHost())
        {
            leaving = scheduler.SubmitAsync(Engine.Prepare(Queries[0] with { MaxTokens = 200 }), _ => { if (++deltas == 2) leave.Cancel(); }, leave.Token);
            staying = scheduler.SubmitAsync(Engine.Prepare(Queries[1]), _ => { });
            gate.Set();
        }
        var left = await leaving;
        Assert.Equal(FinishReason.Cancelled, left.FinishReason);
        Assert.InRange(left.CompletionTokens, 2, 4);
        AssertSame(stayAlone, await staying);
        Assert.Equal(0, scheduler.ReservedBytes);
    }

    [Fact]
    public async Task A_request_whose_caller_left_while_waiting_is_dropped_even_behind_a_blocked_one()
    {
        var first = Engine.Prepare(Queries[1]);
        long need = (first.Generation.PromptIds.Length + first.Generation.MaxNewTokens) * Engine.Bundle.Model.KvBytesPerPosition;
        var scheduler = new ChatScheduler(Host, new ChatBatchingOptions { KvCacheBudgetMB = need / (double)(1 << 20) }); // one at a time
        using var leave = new CancellationTokenSource();
        Task<GenerationResult> running, blocked, leaving = null!;
        bool? droppedBeforeFirstDelta = null;
        using (var gate = BlockHost())
        {
            running = scheduler.SubmitAsync(first, _ => droppedBeforeFirstDelta ??= leaving.IsCompleted);
            blocked = scheduler.SubmitAsync(Engine.Prepare(Queries[1]), _ => { });
            leaving = scheduler.SubmitAsync(Engine.Prepare(Queries[4]), _ => { }, leave.Token);
            leave.Cancel();
            gate.Set();
        }
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => leaving);
        AssertSame(await running, await blocked);
        Assert.True(droppedBeforeFirstDelta); // at the first step, not after the two ahead of it
    }

    [Fact]
    public async Task A_request_the_model_fails_on_fails_alone_and_the_batch_goes_on()
    {
        var scheduler = new ChatScheduler(Host, new ChatBatchingOptions());
        var good = Engine.Prepare(Queries[1]);
        var broken = good with { Generation = good.Generation with { PromptIds = [.. good.Generation.PromptIds, 1_000_000] } }; // no such token
        Task<GenerationResult> ok, failing;
        using (var gate = BlockHost())
        {
            ok = scheduler.SubmitAsync(good, _ => { });
            failing = scheduler.SubmitAsync(broken, _ => { });
            gate.Set();
        }
        await Assert.ThrowsAnyAsync<Exception>(() => failing);
        AssertSame(await Alone(Queries[1]), await ok);
        Assert.Equal(0, scheduler.ReservedBytes);
        AssertSame(await Alone(Queries[4]), await scheduler.SubmitAsync(Engine.Prepare(Queries[4]), _ => { }));
    }
}
