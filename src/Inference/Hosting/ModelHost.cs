using System.Diagnostics;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace Service.Inference.Hosting;

public enum HostState { Starting, Ready, Failed, Stopped }

/// <summary>
/// The one owner of the models and the device. A dedicated thread loads the models, then runs
/// jobs from a bounded queue one at a time; callers await the job's result. TorchSharp's dispose
/// scopes are thread-static, so every job's tensors live and die on this thread, inside the job.
/// </summary>
public sealed class ModelHost : IDisposable
{
    readonly Func<LoadedModels> _load;
    readonly ILogger _log;
    readonly Channel<IJob> _queue;
    readonly Thread _thread;
    readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    readonly TaskCompletionSource _loaded = new(TaskCreationOptions.RunContinuationsAsynchronously);
    LoadedModels? _models;

    volatile HostState _state = HostState.Starting;
    volatile string _statusDetail = "loading models";

    public HostState State => _state;
    /// <summary>Why the host is not ready (still loading, or the load error).</summary>
    public string StatusDetail => _statusDetail;
    /// <summary>When loading finished.</summary>
    public DateTimeOffset ReadySince { get; private set; }
    /// <summary>Set once loading finished; valid only when <see cref="State"/> is Ready.</summary>
    public LoadedModels Models => _models ?? throw NotReady();
    /// <summary>Resident memory of the process when loading began (runtime and web host, no models yet).</summary>
    public long ResidentBytesBeforeLoad { get; private set; }
    /// <summary>Completes when loading has finished, successfully or not (see <see cref="State"/>).</summary>
    public Task Loaded => _loaded.Task;
    public int QueueLength => _queue.Reader.CanCount ? _queue.Reader.Count : 0;

    public ModelHost(Func<LoadedModels> load, ModelHostOptions options, ILogger<ModelHost> log)
    {
        _load = load;
        _log = log;
        _queue = Channel.CreateBounded<IJob>(new BoundedChannelOptions(Math.Max(1, options.QueueCapacity))
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait, // TryWrite fails when full: we answer 429, never wait
        });
        _thread = new Thread(Run) { Name = "model-host", IsBackground = true };
    }

    public void Start() => _thread.Start();

    /// <summary>Runs work on the model thread. Throws Overloaded when the queue is full, NotReady before the load.</summary>
    public Task<T> RunAsync<T>(Func<LoadedModels, T> work, CancellationToken cancellation = default)
    {
        if (State != HostState.Ready) throw NotReady();
        var job = new Job<T>(work, cancellation);
        if (!_queue.Writer.TryWrite(job))
            throw new InferenceException(InferenceErrorKind.Overloaded, $"The model queue is full ({_queue.Reader.Count} waiting); retry shortly.");
        return job.Result;
    }

    /// <summary>
    /// Work that comes in turns (the fill-mask batcher's drain, the chat scheduler's step):
    /// <paramref name="turn"/> runs on the model thread and says whether another turn is wanted; each
    /// next turn queues behind whatever else is waiting, so other work runs in between. When the
    /// queue refuses it (full, or draining at shutdown), the next turn runs at once on the model
    /// thread, in a loop, rather than being dropped. Throws as <see cref="RunAsync{T}"/> does when
    /// the first turn cannot be queued. <paramref name="turn"/> must not throw: its errors belong to
    /// the requests it serves.
    /// </summary>
    public void RunInTurns(Func<LoadedModels, bool> turn) => _ = RunAsync(models => Turns(turn, models));

    bool Turns(Func<LoadedModels, bool> turn, LoadedModels models)
    {
        while (turn(models))
        {
            try
            {
                RunInTurns(turn);
                return true;
            }
            catch (InferenceException)
            {
                // refused: take the next turn here
            }
        }
        return true;
    }

    /// <summary>Stops taking work, finishes what is queued, then frees the models.</summary>
    public Task StopAsync()
    {
        _queue.Writer.TryComplete();
        if (!_thread.IsAlive) _stopped.TrySetResult();
        return _stopped.Task;
    }

    /// <summary>
    /// Gives up on the drain (the shutdown timeout passed): jobs still queued are answered NotReady
    /// instead of run; the job running now finishes (tensor work cannot be interrupted safely).
    /// </summary>
    public void Abandon()
    {
        _abandoned = true;
        _queue.Writer.TryComplete();
    }

    volatile bool _abandoned;

    /// <summary>How long <see cref="Dispose"/> waits for the running job after <see cref="Abandon"/>.</summary>
    static readonly TimeSpan AbandonedJoin = TimeSpan.FromSeconds(5);

    public void Dispose()
    {
        _queue.Writer.TryComplete();
        if (!_thread.IsAlive || Thread.CurrentThread == _thread) return;
        if (_abandoned) _thread.Join(AbandonedJoin); // a background thread: the process may end without it
        else _thread.Join();
    }

    InferenceException NotReady() => new(InferenceErrorKind.NotReady,
        State == HostState.Failed ? $"The model failed to load: {StatusDetail}" : $"The service is not ready: {StatusDetail}.");

    void Run()
    {
        bool loaded = TryLoad();
        _loaded.TrySetResult();
        if (!loaded)
        {
            _stopped.TrySetResult(); // stays Failed, with the load error as the readiness detail
            return;
        }
        try
        {
            foreach (var job in _queue.Reader.ReadAllAsync().ToBlockingEnumerable())
            {
                if (_abandoned) job.Abandon();
                else job.Execute(_models!);
            }
        }
        finally
        {
            _statusDetail = "stopped";
            _state = HostState.Stopped;
            _models?.Dispose();
            _stopped.TrySetResult();
        }
    }

    bool TryLoad()
    {
        try
        {
            var clock = Stopwatch.StartNew();
            ResidentBytesBeforeLoad = Environment.WorkingSet;
            _models = _load();
            ReadySince = DateTimeOffset.UtcNow;
            _statusDetail = "ready";
            _state = HostState.Ready;
            _log.LogInformation("Models loaded in {ElapsedMs} ms; resident memory {ResidentMB} MB, {BeforeMB} MB before loading",
                clock.ElapsedMilliseconds, Environment.WorkingSet >> 20, ResidentBytesBeforeLoad >> 20);
            return true;
        }
        catch (Exception e)
        {
            _statusDetail = e.Message;
            _state = HostState.Failed;
            _log.LogError(e, "Loading the models failed");
            _queue.Writer.TryComplete();
            return false;
        }
    }

    interface IJob
    {
        void Execute(LoadedModels models);
        void Abandon();
    }

    sealed class Job<T> : IJob
    {
        readonly TaskCompletionSource<T> _result = new(TaskCreationOptions.RunContinuationsAsynchronously);
        readonly Func<LoadedModels, T> work;
        readonly CancellationToken cancellation;

        public Job(Func<LoadedModels, T> work, CancellationToken cancellation)
        {
            this.work = work;
            this.cancellation = cancellation;
            _result.CancelWith(cancellation);
        }

        public Task<T> Result => _result.Task;

        public void Abandon() => _result.TrySetException(new InferenceException(InferenceErrorKind.NotReady,
            "The service stopped before this request could run; retry it (on another replica)."));

        public void Execute(LoadedModels models)
        {
            if (cancellation.IsCancellationRequested)
            {
                _result.TrySetCanceled(cancellation); // the caller left while queued: skip the work
                return;
            }
            try
            {
                _result.TrySetResult(work(models));
            }
            catch (Exception e)
            {
                _result.TrySetException(e);
            }
        }
    }
}
