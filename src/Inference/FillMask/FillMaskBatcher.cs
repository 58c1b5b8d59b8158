using Service.Inference.Hosting;

namespace Service.Inference.FillMask;

/// <summary>
/// Dynamic batching of fill-mask queries, as text-embeddings-inference does it: queries wait in a
/// list, and one "drain" job at a time sits in the host's queue. When it runs, it takes as many
/// waiting queries as fit (count and padded-token budget) into one padded forward pass, answers
/// each, and takes another turn behind other work if more are waiting (<see cref="ModelHost.RunInTurns"/>).
/// An idle host answers a lone query at once; a busy one collects the queries that arrive meanwhile.
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
        int longest = 0;
        lock (_gate)
        {
            for (var node = _waiting.First; node is not null && batch.Count < options.MaxBatchSize;)
            {
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
                    if (batch.Count > 0 && width * (batch.Count + 1) > options.MaxBatchTokens) break;
                    longest = width;
                    batch.Add(w);
                    _waiting.Remove(node);
                }
                node = next;
            }
        }
        return batch;
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
