using Service.Inference;
using Service.Inference.Chat;
using Service.Inference.Generation;
using Service.Tests.Support;

namespace Service.Tests.Inference.Chat;

/// <summary>
/// Crisis-first admission on the demo chat model with a batch of one: while the batch and the waiting list
/// are full, a crisis request is still accepted and starts next, ahead of the ordinary requests that waited
/// before it. The host thread is held inside the running request's first delta, so every submission below
/// happens while that request runs: no timing is involved.
/// </summary>
public sealed class CrisisFirstSchedulingTests : IDisposable
{
    readonly DemoChatHost _demo = new();

    public void Dispose() => _demo.Dispose();

    /// <summary>Only so that a broken scheduler fails the test instead of hanging it; never reached when it works.</summary>
    static readonly TimeSpan Guard = TimeSpan.FromSeconds(60);

    PreparedChat Prepare(string user) =>
        _demo.Engine.Prepare(new ChatQuery([new(ChatRole.User, user)], Temperature: 0, MaxTokens: 6));

    [Fact]
    public async Task A_crisis_request_is_admitted_ahead_of_a_full_waiting_list()
    {
        var scheduler = new ChatScheduler(_demo.Host, new ChatBatchingOptions { MaxBatchSize = 1, MaxWaiting = 2 });
        var started = new List<string>();          // first delta of each request, in order (host thread only)
        var waitingWhenStarted = new Dictionary<string, int>();
        using var running = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        Action<string> Track(string label) => _ =>
        {
            if (started.Contains(label)) return;
            started.Add(label);
            waitingWhenStarted[label] = scheduler.WaitingCount;
            if (label == "running") { running.Set(); release.Wait(Guard); } // hold the batch full
        };

        var first = scheduler.SubmitAsync(Prepare("hello there"), Track("running"));
        Assert.True(running.Wait(Guard), "the first request produced no text");
        Assert.Equal(0, scheduler.WaitingCount); // admitted: the batch of one is full

        var ordinary = new[] { "how was your day", "tell me a story" }.Select((text, i) => scheduler.SubmitAsync(Prepare(text), Track($"ordinary{i}"))).ToArray();
        // SubmitAsync refuses synchronously, before any task exists.
        var refused = Assert.Throws<InferenceException>(() => { _ = scheduler.SubmitAsync(Prepare("one more"), Track("refused")); });
        Assert.Equal(InferenceErrorKind.Overloaded, refused.Kind);

        var crisisChat = Prepare("I want to kill myself");
        Assert.True(crisisChat.Notices.Crisis);
        var crisis = scheduler.SubmitAsync(crisisChat, Track("crisis"));
        Assert.Equal(3, scheduler.WaitingCount);

        release.Set();
        await Task.WhenAll([first, crisis, .. ordinary]).WaitAsync(Guard);
        Assert.Equal(["running", "crisis", "ordinary0", "ordinary1"], started);
        Assert.Equal(2, waitingWhenStarted["crisis"]); // both ordinary requests were still waiting when it started
    }

    [Fact]
    public async Task Crisis_requests_keep_their_own_order_and_ordinary_ones_theirs()
    {
        var scheduler = new ChatScheduler(_demo.Host, new ChatBatchingOptions { MaxBatchSize = 1, MaxWaiting = 8 });
        var started = new List<string>();
        using var running = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        Action<string> Track(string label) => _ =>
        {
            if (started.Contains(label)) return;
            started.Add(label);
            if (label == "running") { running.Set(); release.Wait(Guard); }
        };

        var all = new List<Task<GenerationResult>> { scheduler.SubmitAsync(Prepare("hello there"), Track("running")) };
        Assert.True(running.Wait(Guard), "the first request produced no text");
        all.Add(scheduler.SubmitAsync(Prepare("how was your day"), Track("a")));
        all.Add(scheduler.SubmitAsync(Prepare("I want to die"), Track("crisis1")));
        all.Add(scheduler.SubmitAsync(Prepare("tell me a story"), Track("b")));
        all.Add(scheduler.SubmitAsync(Prepare("我不想活了"), Track("crisis2")));
        release.Set();
        await Task.WhenAll(all).WaitAsync(Guard);
        Assert.Equal(["running", "crisis1", "crisis2", "a", "b"], started);
    }
}
