using Service.Inference.Hosting;

namespace Service.Inference.FillMask;

/// <summary>
/// Dynamic batching of fill-mask queries, as text-embeddings-inference does it: queries wait in a
/// list, and one "drain" job at a time sits in the host's queue. When it runs, it takes as many
/// waiting queries as fit (count and padded-token budget) into one padded forward pass, answers
/// each, and takes another turn behind other work if more are waiting (<see cref="ModelHost.RunInTurns"/>).
/// An idle host answers a lone query at once; a busy one collects the queries that arrive meanwhile.
/// Clients that wait for each answer before sending their next query all come back at once when a
/// batch ends, a few milliseconds apart; so when fewer queries wait than the last batch held, the
/// drain gathers them for up to <see cref="FillMaskBatchingOptions.GatherMs"/> instead of running the
/// first alone and the rest one forward pass later (measured: a mean batch of 1.8 at 16 clients).
/// Each query keeps its own language and projection, and its result equals a single run (the tests
/// check it).
/// </summary>
public sealed class FillMaskBatcher(ModelHost host, FillMaskBatchingOptions options)
{
    sealed record Waiting(PreparedFillMask Query, CancellationToken Cancellation)
    {
        public TaskCompletionSource<FillMaskResult> Result { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    readonly Lock _gate = new();
    readonly LinkedList<Waiting> _waiting = new();
    readonly ManualResetEventSlim _arrived = new(false);
    bool _drainQueued;

    /// <summary>Size of the last batch run, for tests and metrics.</summary>
    public int LastBatchSize { get; private set; }

    /// <summary>Raised on the host thread with the size of every batch run (for metrics; keep handlers cheap).</summary>
    public event Action<int>? BatchRan;

    /// <summary>Queries waiting to be batched.</summary>
    public int WaitingCount
    {
        get { lock (_gate) return _waiting.Count; }
    }

    public Task<FillMaskResult> SubmitAsync(PreparedFillMask query, CancellationToken cancellation = default)
    {
        var waiting = new Waiting(query, cancellation);
        bool queueDrain;
        lock (_gate)
        {
            if (_waiting.Count >= options.MaxWaiting)
                throw new InferenceException(InferenceErrorKind.Overloaded, $"{_waiting.Count} fill-mask queries are waiting; retry shortly.");
            _waiting.AddLast(waiting);
            queueDrain = !_drainQueued;
            _drainQueued = true;
        }
        _arrived.Set();
        if (queueDrain)
        {
            try { host.RunInTurns(Drain); }
            catch (InferenceException e) { FailAll(e); }
        }
        waiting.Result.CancelWith(cancellation); // TakeBatch then drops it unrun
        return waiting.Result.Task;
    }

    bool Drain(LoadedModels models)
    {
        var batch = TakeBatch();
        if (batch.Count > 0)
        {
            LastBatchSize = batch.Count;
            try
            {
                var results = models.FillMask!.Run([.. batch.Select(w => w.Query)]);
                for (int i = 0; i < batch.Count; i++) batch[i].Result.TrySetResult(results[i]);
                BatchRan?.Invoke(batch.Count);
            }
            catch (Exception e)
            {
                foreach (var w in batch) w.Result.TrySetException(e);
            }
        }
        lock (_gate) return _drainQueued = _waiting.Count > 0; // another turn while queries wait
    }

    List<Waiting> TakeBatch()
    {
        var batch = new List<Waiting>();
        int longest = 0, target = LastBatchSize;
        var gathering = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            _arrived.Reset(); // before taking: an arrival after this is seen by the wait below
            bool full = TakeInto(batch, ref longest);
            long left = options.GatherMs - gathering.ElapsedMilliseconds;
            if (full || batch.Count == 0 || batch.Count >= target || left <= 0) return batch;
            _arrived.Wait(TimeSpan.FromMilliseconds(left));
        }
    }

    /// <summary>Moves waiting queries into the batch while they fit; true when the batch can take no more.</summary>
    bool TakeInto(List<Waiting> batch, ref int longest)
    {
        lock (_gate)
        {
            for (var node = _waiting.First; node is not null;)
            {
                if (batch.Count >= options.MaxBatchSize) return true;
                var next = node.Next;
                var w = node.Value;
                if (w.Cancellation.IsCancellationRequested)
                {
                    w.Result.TrySetCanceled(w.Cancellation); // the caller left: no work for it
                    _waiting.Remove(node);
                }
                else
                {
                    int width = Math.Max(longest, w.Query.InputIds.Length);
                    if (batch.Count > 0 && width * (batch.Count + 1) > options.MaxBatchTokens) return true;
                    longest = width;
                    batch.Add(w);
                    _waiting.Remove(node);
                }
                node = next;
            }
            return batch.Count >= options.MaxBatchSize;
        }
    }

    void FailAll(Exception e)
    {
        lock (_gate)
        {
            foreach (var w in _waiting) w.Result.TrySetException(e);
            _waiting.Clear();
            _drainQueued = false;
        }
    }
}
