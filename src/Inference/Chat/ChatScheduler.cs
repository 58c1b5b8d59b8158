using Service.Inference.Generation;
using Service.Inference.Hosting;
using TorchSharp;

namespace Service.Inference.Chat;

/// <summary>
/// Continuous batching (iteration-level scheduling, as vLLM and TGI do it). Requests wait in a list;
/// one "step" job at a time sits in the host's queue. A step admits waiting requests while the
/// batch and the KV budget allow, runs newcomers' prompts in chunks within a token budget, then one
/// decode step for every running sequence together (one pass over the weights for all of them), and hands out
/// finished replies. It takes another turn behind other work (fill-mask batches) while anything is
/// waiting or running (<see cref="ModelHost.RunInTurns"/>), so a new request joins at the next step
/// and a finished one leaves at once.
/// Each sequence keeps its own sampling parameters, seed, stop strings and cache.
/// </summary>
public sealed class ChatScheduler(ModelHost host, ChatBatchingOptions options)
{
    /// <param name="Leader">For choice k > 0 of a request: choice 0, whose prompt cache this one copies.</param>
    sealed record Waiting(DecodingSequence Sequence, bool Crisis, Waiting? Leader = null)
    {
        public TaskCompletionSource<GenerationResult> Result { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    readonly Lock _gate = new();
    readonly LinkedList<Waiting> _waiting = new();
    readonly List<Waiting> _running = []; // touched on the host thread only
    PrefixCache? _prefixes; // host thread only; for the chat model it was made for
    long _reservedBytes;
    bool _stepQueued;

    public int WaitingCount
    {
        get { lock (_gate) return _waiting.Count; }
    }

    /// <summary>Sequences in the running batch after the last step.</summary>
    public int RunningCount { get; private set; }

    /// <summary>KV cache bytes reserved by running sequences.</summary>
    public long ReservedBytes => Interlocked.Read(ref _reservedBytes);

    public long BudgetBytes => (long)(options.KvCacheBudgetMB * (1 << 20));

    /// <summary>Raised on the host thread with the size of every decode batch (for metrics; keep handlers cheap).</summary>
    public event Action<int>? BatchRan;

    /// <summary>
    /// Queues a prepared chat; the task completes with the reply. <paramref name="onDelta"/> runs on the
    /// host thread with each final piece of text. Throws Overloaded (429) when too many are waiting, and
    /// Validation (400) when the request alone needs more KV memory than the whole budget.
    /// </summary>
    public Task<GenerationResult> SubmitAsync(PreparedChat chat, Action<ReplyDelta> onDelta, CancellationToken cancellation = default) =>
        SubmitChoicesAsync(chat, 1, (_, delta) => onDelta(delta), cancellation)[0];

    /// <summary>
    /// Queues <paramref name="n"/> choices of one prompt, each its own sequence in the batch: choice 0 runs the
    /// prompt, the others copy its cache (all but the last prompt token) and sample on their own. With a seed,
    /// choice k draws from a generator seeded with seed + k, so every choice is reproducible on its own.
    /// <paramref name="onDelta"/> receives the choice index with each piece of text (and its tokens' log-probabilities when asked for).
    /// </summary>
    public Task<GenerationResult>[] SubmitChoicesAsync(PreparedChat chat, int n, Action<int, ReplyDelta> onDelta, CancellationToken cancellation = default)
    {
        var engine = host.Models.Chat ?? throw new InferenceException(InferenceErrorKind.NotFound, "This service has no chat model loaded.", "model");
        var bundle = engine.Bundle;
        var request = chat.Generation;
        var choices = new List<Waiting>(n);
        for (int k = 0; k < n; k++)
        {
            int index = k;
            var choice = k == 0 || request.Sampling.Seed is null ? request : request with { Sampling = request.Sampling with { Seed = request.Sampling.Seed + k } };
            choices.Add(new Waiting(new DecodingSequence(bundle.Model, choice, bundle.Tokenizer.Decode, bundle.Format.CleanReply, delta => onDelta(index, delta), cancellation),
                chat.Notices.Crisis, k == 0 ? null : choices[0]));
        }
        var waiting = choices[0];
        if (waiting.Sequence.KvBytes > BudgetBytes)
        {
            choices.ForEach(c => c.Sequence.Dispose());
            throw InferenceException.Invalid(
                $"This request needs {waiting.Sequence.KvBytes >> 20} MB of KV cache ({request.PromptIds.Length} prompt tokens + max_tokens {request.MaxNewTokens}), " +
                $"more than the service's whole budget of {options.KvCacheBudgetMB} MB (Chat:Batching:KvCacheBudgetMB); lower max_tokens or shorten the conversation.",
                "max_tokens");
        }
        bool queueStep;
        lock (_gate)
        {
            // A crisis request is refused only when MaxWaiting other crisis requests wait, never for ordinary ones.
            int ahead = waiting.Crisis ? _waiting.Count(w => w.Crisis) : _waiting.Count;
            if (ahead >= options.MaxWaiting)
            {
                choices.ForEach(c => c.Sequence.Dispose());
                throw new InferenceException(InferenceErrorKind.Overloaded, $"{ahead} chat requests are waiting to start; retry shortly.");
            }
            choices.ForEach(Enqueue); // consecutive: a crisis request's choices all go before the first ordinary one
            queueStep = !_stepQueued;
            _stepQueued = true;
        }
        if (queueStep)
        {
            try { host.RunInTurns(Turn); }
            catch (InferenceException e) { FailWaiting(e); }
        }
        return [.. choices.Select(c => c.Result.Task)];
    }

    /// <summary>
    /// Crisis first (vLLM's priority scheduling with two levels): a crisis request goes behind the crisis
    /// requests already waiting and ahead of every ordinary one; within a level, first come, first served.
    /// Running sequences are never preempted.
    /// </summary>
    void Enqueue(Waiting waiting)
    {
        if (!waiting.Crisis)
        {
            _waiting.AddLast(waiting);
            return;
        }
        var firstOrdinary = _waiting.First;
        while (firstOrdinary is { Value.Crisis: true }) firstOrdinary = firstOrdinary.Next;
        if (firstOrdinary is null) _waiting.AddLast(waiting);
        else _waiting.AddBefore(firstOrdinary, waiting);
    }

    /// <summary>One step; another turn, behind other work, while anything waits or runs.</summary>
    bool Turn(LoadedModels models)
    {
        try
        {
            Step(models);
        }
        catch (Exception e)
        {
            FailAll(e); // nobody may be left waiting for a step that never comes
        }
        lock (_gate) return _stepQueued = _waiting.Count > 0 || _running.Count > 0;
    }

    void Step(LoadedModels models)
    {
        var engine = models.Chat!;
        using var mode = torch.inference_mode();
        var model = engine.Bundle.Model;
        var prefixes = Prefixes(model);
        Admit(prefixes);
        foreach (var w in _running.Where(w => w.Sequence.Cancellation.IsCancellationRequested)) w.Sequence.Cancel();
        var decoding = _running.Where(w => w.Sequence.Finished is null && !w.Sequence.IsPrefilling).ToList();
        // Newcomers' prompts share a token budget per step while others stream, oldest first; with
        // nobody streaming, prompts run whole.
        int budget = decoding.Count == 0 ? int.MaxValue : Math.Max(1, options.PrefillChunkTokens);
        foreach (var newcomer in _running.Where(w => w.Sequence.Finished is null && w.Sequence.IsPrefilling).ToList())
        {
            if (budget <= 0) break;
            if (!StartFromLeader(newcomer, model)) continue;
            if (newcomer.Sequence.RunsLastPromptTokenInDecodeStep)
            {
                decoding.Add(newcomer); // one row of this step's batch rather than a forward of its own
                budget--;
                continue;
            }
            int chunk = Math.Min(budget, newcomer.Sequence.PromptTokensLeft);
            Guarded([newcomer], () => newcomer.Sequence.Prefill(chunk));
            budget -= chunk;
        }
        if (decoding.Count > 0)
        {
            Guarded(decoding, () => DecodeStep.Run(model, [.. decoding.Select(w => w.Sequence)]));
            BatchRan?.Invoke(decoding.Count);
        }
        foreach (var done in _running.Where(w => w.Sequence.Finished is not null).ToList())
        {
            _running.Remove(done);
            // Only a sequence that ended normally is kept: a cancelled one may stop anywhere, and nothing half written is reused.
            if (prefixes is not null && done.Sequence.Finished != FinishReason.Cancelled && done.Sequence.AllocatedCache is { } cache)
                prefixes.Store(done.Sequence.Seen, cache);
            Interlocked.Add(ref _reservedBytes, -done.Sequence.KvBytes);
            done.Result.TrySetResult(done.Sequence.Complete());
        }
        RunningCount = _running.Count;
    }

    /// <summary>
    /// Choice k > 0 of a request waits while choice 0 runs the prompt, then copies its cache but for the last prompt
    /// token (which it runs itself: its logits give the choice's first token). Once choice 0 has left, or when the
    /// model cannot continue a copied prompt (ChatGLM), a choice runs the prompt itself. False: not this step.
    /// </summary>
    bool StartFromLeader(Waiting newcomer, Models.ICausalLanguageModel model)
    {
        if (newcomer.Leader is not { } leader || newcomer.Sequence.PromptTokensLeft < newcomer.Sequence.Request.PromptIds.Length
            || !model.CanChunkPrefill || !_running.Contains(leader)) return true;
        if (leader.Sequence.IsPrefilling) return false;
        newcomer.Sequence.ReusePrefix(leader.Sequence.Cache, newcomer.Sequence.Request.PromptIds.Length - 1);
        return true;
    }

    /// <summary>The prefix cache of the chat model, when configured and the model may continue a cached prefix.</summary>
    PrefixCache? Prefixes(Models.ICausalLanguageModel model)
    {
        if (_prefixes is not null && _prefixes.Model != model)
        {
            _prefixes.Dispose(); // the chat model was replaced; its caches mean nothing to the new one
            _prefixes = null;
        }
        if (!options.PrefixCaching || !model.CanChunkPrefill) return null;
        return _prefixes ??= new PrefixCache(model);
    }

    /// <summary>Prompt tokens looked up in the prefix cache, and those found there, by this scheduler (the process-wide counts are <see cref="GenerationMetrics"/>').</summary>
    public long PrefixQueryTokens { get; private set; }
    public long PrefixHitTokens { get; private set; }

    /// <summary>Bytes the prefix cache holds (within the KV budget, evicted as admission needs room).</summary>
    public long PrefixCacheBytes => _prefixes?.Bytes ?? 0;

    /// <summary>Runs model work for some sequences; if it throws, those fail with the error and leave the batch.</summary>
    void Guarded(List<Waiting> sequences, Action work)
    {
        try
        {
            work();
        }
        catch (Exception e)
        {
            foreach (var w in sequences)
            {
                _running.Remove(w);
                Interlocked.Add(ref _reservedBytes, -w.Sequence.KvBytes);
                w.Sequence.Dispose();
                w.Result.TrySetException(e);
            }
        }
    }

    /// <summary>In waiting order (crisis requests first, see <see cref="Enqueue"/>): the head starts when it fits the batch and the budget.</summary>
    void Admit(PrefixCache? prefixes)
    {
        lock (_gate)
        {
            for (var node = _waiting.First; node is not null;)
            {
                var next = node.Next;
                var w = node.Value;
                if (w.Sequence.Cancellation.IsCancellationRequested)
                {
                    _waiting.Remove(node);
                    w.Sequence.Dispose();
                    w.Result.TrySetCanceled(w.Sequence.Cancellation); // the caller left before it started
                }
                node = next;
            }
            while (_waiting.First is { } first)
            {
                var w = first.Value;
                if (_running.Count >= Math.Max(1, options.MaxBatchSize)) return;
                // Choices after the first copy choice 0's prompt instead (see StartFromLeader).
                var match = w.Leader is null ? prefixes?.Find(w.Sequence.Request.PromptIds) : null;
                if (!MakeRoom(w.Sequence.KvBytes, prefixes, match?.Entry)) return;
                _waiting.RemoveFirst();
                Interlocked.Add(ref _reservedBytes, w.Sequence.KvBytes);
                _running.Add(w);
                if (prefixes is null || w.Leader is not null) continue;
                if (match is { } hit && prefixes.Holds(hit.Entry)) // it may have been evicted to make room
                    w.Sequence.ReusePrefix(hit.Entry.Cache, hit.Length);
                int queried = w.Sequence.Request.PromptIds.Length, hits = queried - w.Sequence.PromptTokensLeft;
                PrefixQueryTokens += queried;
                PrefixHitTokens += hits;
                GenerationMetrics.RecordPrefixLookup(queried, hits);
            }
        }
    }

    /// <summary>
    /// Whether <paramref name="bytes"/> more fit the budget beside the running sequences and the prefix cache, evicting
    /// cached prefixes least recently used first: others before <paramref name="wanted"/>, the one the request would use.
    /// Nothing is evicted for a request that would not fit even with the cache empty: it waits for running ones to end.
    /// </summary>
    bool MakeRoom(long bytes, PrefixCache? prefixes, PrefixCache.Entry? wanted)
    {
        if (ReservedBytes + bytes > BudgetBytes) return false;
        bool Fits() => ReservedBytes + (prefixes?.Bytes ?? 0) + bytes <= BudgetBytes;
        while (!Fits() && prefixes is not null && prefixes.EvictLeastRecent(wanted)) { }
        while (!Fits() && prefixes is not null && prefixes.EvictLeastRecent()) { }
        return Fits();
    }

    /// <summary>On the host thread, after an unexpected error: every request fails with it (the caller of Steps decides whether to step again).</summary>
    void FailAll(Exception e)
    {
        Fail(_running, e);
        RunningCount = 0;
        Interlocked.Exchange(ref _reservedBytes, 0);
        lock (_gate) Fail(_waiting, e);
    }

    /// <summary>When no step could be queued: the waiting requests fail with the host's refusal.</summary>
    void FailWaiting(Exception e)
    {
        lock (_gate)
        {
            Fail(_waiting, e);
            _stepQueued = false;
        }
    }

    static void Fail(ICollection<Waiting> requests, Exception e)
    {
        foreach (var w in requests) { w.Sequence.Dispose(); w.Result.TrySetException(e); }
        requests.Clear();
    }
}
