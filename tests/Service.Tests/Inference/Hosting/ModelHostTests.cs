using Microsoft.Extensions.Logging.Abstractions;
using Service.Inference;
using Service.Inference.Demo;
using Service.Inference.FillMask;
using Service.Inference.Hosting;
using Service.Inference.Projection;
using Service.Tests.Support;
using TorchSharp;

namespace Service.Tests.Inference.Hosting;

public sealed class ModelHostTests
{
    static ModelHost StartHost(int capacity, Func<LoadedModels>? load = null)
    {
        var host = new ModelHost(
            load ?? (() => new LoadedModels(DemoMaskedLm.Create(torch.CPU, torch.ScalarType.Float32), new FillMaskOptions(),
                new ProjectionOptions { CacheDirectory = Directory.CreateTempSubdirectory().FullName }, NullLogger.Instance)),
            new ModelHostOptions { QueueCapacity = capacity },
            NullLogger<ModelHost>.Instance);
        host.Start();
        return host;
    }

    [Fact]
    public async Task Jobs_run_on_the_host_thread_and_return_managed_results()
    {
        using var host = StartHost(4);
        await host.Loaded;
        Assert.Equal(HostState.Ready, host.State);
        var thread = await host.RunAsync(_ => Thread.CurrentThread.Name);
        Assert.Equal("model-host", thread);
    }

    [Fact]
    public async Task A_full_queue_is_refused_as_overloaded_and_admitted_work_completes()
    {
        using var host = StartHost(capacity: 2);
        await host.Loaded;
        using var gate = new ManualResetEventSlim();
        using var running = new ManualResetEventSlim();
        var blocker = host.RunAsync(_ => { running.Set(); gate.Wait(); return 0; });
        running.Wait(); // the host thread is now busy, the queue empty
        var queued = new[] { host.RunAsync(_ => 1), host.RunAsync(_ => 2) };
        var refused = Assert.Throws<InferenceException>(() => { _ = host.RunAsync(_ => 3); });
        Assert.Equal(InferenceErrorKind.Overloaded, refused.Kind);
        gate.Set();
        Assert.Equal(new[] { 1, 2 }, await Task.WhenAll(queued));
        await blocker;
    }

    [Fact]
    public async Task Work_in_turns_lets_queued_jobs_run_between_its_turns()
    {
        using var host = StartHost(capacity: 4);
        await host.Loaded;
        var order = new List<string>();
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        int turns = 0;
        using (var gate = new ManualResetEventSlim())
        {
            using var running = new ManualResetEventSlim();
            _ = host.RunAsync(_ => { running.Set(); gate.Wait(); return 0; });
            running.Wait();
            host.RunInTurns(_ => { order.Add($"turn {++turns}"); if (turns == 3) done.SetResult(); return turns < 3; });
            _ = host.RunAsync(_ => { order.Add("job"); return 0; });
            gate.Set();
        }
        await done.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(["turn 1", "job", "turn 2", "turn 3"], order);
    }

    [Fact]
    public async Task Work_in_turns_keeps_going_on_the_model_thread_when_the_queue_is_full()
    {
        using var host = StartHost(capacity: 1);
        await host.Loaded;
        var order = new List<string>();
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        int turns = 0;
        Task<int>? job = null;
        host.RunInTurns(h =>
        {
            order.Add($"turn {++turns}");
            job ??= host.RunAsync(_ => { order.Add("job"); return 0; }); // fills the one slot: the next turns cannot queue
            if (turns == 1000) done.SetResult();
            return turns < 1000; // iterative, not recursive: a thousand turns in one job
        });
        await done.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await job!;
        Assert.Equal(1001, order.Count);
        Assert.Equal("job", order[^1]);
    }

    [Fact]
    public async Task A_failed_load_reports_the_error_and_refuses_work()
    {
        using var host = StartHost(4, () => throw new InvalidOperationException("config.json is missing"));
        await host.Loaded;
        Assert.Equal(HostState.Failed, host.State);
        Assert.Contains("config.json is missing", host.StatusDetail);
        var error = Assert.Throws<InferenceException>(() => { _ = host.RunAsync(_ => 1); });
        Assert.Equal(InferenceErrorKind.NotReady, error.Kind);
    }

    [Fact]
    public async Task Stopping_drains_queued_work()
    {
        var host = StartHost(8);
        await host.Loaded;
        using var gate = new ManualResetEventSlim();
        var first = host.RunAsync(_ => { gate.Wait(); return 1; });
        var second = host.RunAsync(_ => 2);
        var stopped = host.StopAsync();
        Assert.False(stopped.IsCompleted);
        gate.Set();
        await stopped;
        Assert.Equal(1, await first);
        Assert.Equal(2, await second);
        Assert.Equal(HostState.Stopped, host.State);
    }

    [Fact]
    public async Task Work_whose_caller_left_while_queued_is_skipped()
    {
        using var host = StartHost(4);
        await host.Loaded;
        using var gate = new ManualResetEventSlim();
        var blocker = host.RunAsync(_ => { gate.Wait(); return 0; });
        using var cancel = new CancellationTokenSource();
        bool ran = false;
        var abandoned = host.RunAsync(_ => ran = true, cancel.Token);
        cancel.Cancel();
        gate.Set();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => abandoned);
        await blocker;
        Assert.False(ran);
    }
}

public sealed class FillMaskBatcherTests
{
    static async Task<ModelHost> DemoHost(ModelHostOptions? options = null)
    {
        var host = new ModelHost(
            () => new LoadedModels(DemoMaskedLm.Create(torch.CPU, torch.ScalarType.Float32), new FillMaskOptions(),
                new ProjectionOptions { CacheDirectory = Directory.CreateTempSubdirectory().FullName }, NullLogger.Instance),
            options ?? new ModelHostOptions(), NullLogger<ModelHost>.Instance);
        host.Start();
        await host.Loaded;
        return host;
    }

    [Fact]
    public async Task Queries_arriving_while_the_host_is_busy_run_as_one_batch_equal_to_single_runs()
    {
        using var host = await DemoHost(new ModelHostOptions { QueueCapacity = 8 });
        var batcher = new FillMaskBatcher(host, new FillMaskBatchingOptions());
        var engine = host.Models.FillMask!;
        var queries = new[] { "Paris is the capital of [MASK].", "[MASK] is a city.", "Berlin ist die [MASK] von Deutschland." }
            .Select(t => engine.Prepare(new FillMaskQuery(t, TopK: 5))).ToArray();

        using var gate = new ManualResetEventSlim();
        using var busy = new ManualResetEventSlim();
        var blocker = host.RunAsync(_ => { busy.Set(); gate.Wait(); return 0; });
        busy.Wait();
        var pending = queries.Select(q => batcher.SubmitAsync(q)).ToArray();
        gate.Set();
        var batched = await Task.WhenAll(pending);
        Assert.Equal(3, batcher.LastBatchSize);

        for (int i = 0; i < queries.Length; i++)
        {
            var single = await host.RunAsync(m => m.FillMask!.Run([queries[i]])[0]);
            Assert.Equal(single.Masks[0].Predictions.Select(p => p.Token), batched[i].Masks[0].Predictions.Select(p => p.Token));
            Assert.All(single.Masks[0].Predictions.Zip(batched[i].Masks[0].Predictions), p => Assert.Equal(p.First.Score, p.Second.Score, 1e-6));
        }
        await blocker;
    }

    [Fact]
    public async Task A_lone_query_on_an_idle_host_runs_at_once()
    {
        using var host = await DemoHost();
        var batcher = new FillMaskBatcher(host, new FillMaskBatchingOptions());
        var result = await batcher.SubmitAsync(host.Models.FillMask!.Prepare(new FillMaskQuery("[MASK] is a city.")));
        Assert.Equal(1, batcher.LastBatchSize);
        Assert.Equal(5, result.Masks[0].Predictions.Count);
    }

    [Fact]
    public async Task Clients_coming_back_after_a_batch_are_gathered_into_one_batch()
    {
        using var host = await DemoHost();
        var batcher = new FillMaskBatcher(host, new FillMaskBatchingOptions { GatherMs = 60_000 });
        var sizes = new List<int>();
        batcher.BatchRan += sizes.Add;
        var engine = host.Models.FillMask!;
        var queries = new[] { "Paris is the capital of [MASK].", "[MASK] is a city.", "Berlin ist die [MASK] von Deutschland." }
            .Select(t => engine.Prepare(new FillMaskQuery(t, TopK: 5))).ToArray();

        using var gate = new ManualResetEventSlim();
        using var busy = new ManualResetEventSlim();
        var blocker = host.RunAsync(_ => { busy.Set(); gate.Wait(); return 0; });
        busy.Wait();
        var first = queries.Select(q => batcher.SubmitAsync(q)).ToArray();
        gate.Set();
        await Task.WhenAll(first);
        await blocker;

        // The first client comes back alone; once the drain has taken it (nothing waits any more), the
        // other two come back. Without gathering, the first would already be running on its own.
        var second = new List<Task<FillMaskResult>> { batcher.SubmitAsync(queries[0]) };
        Assert.True(SpinWait.SpinUntil(() => batcher.WaitingCount == 0, TimeSpan.FromSeconds(30)));
        second.AddRange(queries[1..].Select(q => batcher.SubmitAsync(q)));
        await Task.WhenAll(second);
        Assert.Equal([3, 3], sizes);
    }

    [Fact]
    public async Task A_lone_client_after_a_batch_of_one_never_waits_to_gather()
    {
        using var host = await DemoHost();
        var batcher = new FillMaskBatcher(host, new FillMaskBatchingOptions { GatherMs = 60_000 });
        var query = host.Models.FillMask!.Prepare(new FillMaskQuery("[MASK] is a city."));
        for (int i = 0; i < 3; i++)
        {
            var answer = batcher.SubmitAsync(query);
            Assert.Same(answer, await Task.WhenAny(answer, Task.Delay(TimeSpan.FromSeconds(30)))); // a gather would take 60 s
            Assert.Equal(1, batcher.LastBatchSize);
        }
    }
}
