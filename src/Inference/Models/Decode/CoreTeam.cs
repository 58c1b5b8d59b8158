namespace Service.Inference.Models.Decode;

/// <summary>
/// The calling thread plus long-lived worker threads sharing one job: chunks 0..count-1, claimed one
/// at a time, so a worker that wakes late (or a core taken by another process) only means the caller
/// does more chunks itself. A decode step issues ~170 matrix-vector products of 0.1-3 ms each, so a
/// Task or Parallel.For per product (allocation, thread-pool queueing) would cost a visible share;
/// here a hand-off is one interlocked write, plus an event only when the worker has gone to sleep.
/// Workers spin briefly between products (they come in bursts within a step) and then block, so
/// an idle service uses no CPU. A second caller (another model's host) meanwhile runs alone.
/// </summary>
public sealed class CoreTeam
{
    /// <summary>How long a worker spins for the next job before it blocks (products within a step come closer than this).</summary>
    public static readonly TimeSpan SpinBeforeSleep = TimeSpan.FromMicroseconds(200);

    public delegate void ChunkAction(int chunk);

    readonly Worker[] _workers;
    readonly object _callerGate = new();
    long _state; // generation << 32 | next unclaimed chunk
    int _count, _done;
    ChunkAction? _action;

    public CoreTeam(int threads)
    {
        _workers = new Worker[Math.Max(0, threads - 1)];
        for (int i = 0; i < _workers.Length; i++) _workers[i] = new Worker(this, i);
    }

    public int Threads => _workers.Length + 1;

    /// <summary>One team per process, as many threads as libtorch's intra-op pool (Inference:Threads).</summary>
    public static CoreTeam Shared => _shared ??= CreateShared();
    static CoreTeam? _shared;
    static CoreTeam CreateShared()
    {
        var team = new CoreTeam(Math.Clamp(TorchSharp.torch.get_num_threads(), 1, Environment.ProcessorCount));
        return Interlocked.CompareExchange(ref _shared, team, null) ?? team;
    }

    /// <summary>Runs action(0..count-1) across the team and returns when every chunk is done.</summary>
    public void Run(int count, ChunkAction action)
    {
        if (count <= 1 || _workers.Length == 0 || !Monitor.TryEnter(_callerGate))
        {
            for (int c = 0; c < count; c++) action(c);
            return;
        }
        try
        {
            // First close the last job: a worker that read its state before it ended could otherwise see this
            // job's larger _count, claim a chunk against the old state and run this job's chunk twice (seen in CI).
            // From here its compare-exchange fails; a worker that sees the closing generation finds no chunk.
            long closing = (Volatile.Read(ref _state) >> 32) + 1;
            Interlocked.Exchange(ref _state, (closing << 32) | int.MaxValue);
            _action = action;
            _count = count;
            Volatile.Write(ref _done, 0);
            long generation = closing + 1;
            Interlocked.Exchange(ref _state, generation << 32); // publishes the job (full fence)
            foreach (var worker in _workers) worker.Wake();
            int mine = Work(generation);
            var spin = new SpinWait();
            while (Volatile.Read(ref _done) + mine < count) spin.SpinOnce(sleep1Threshold: -1);
            _action = null;
        }
        finally
        {
            Monitor.Exit(_callerGate);
        }
    }

    /// <summary>Claims and runs chunks of the given generation until none is left; returns how many this thread ran.</summary>
    int Work(long generation)
    {
        int ran = 0;
        while (true)
        {
            long state = Volatile.Read(ref _state);
            if (state >> 32 != generation) return ran;
            int chunk = (int)state;
            if (chunk >= _count) return ran;
            if (Interlocked.CompareExchange(ref _state, state + 1, state) != state) continue;
            // The chunk is ours and the caller waits for it, so the job's fields stay valid until we report it done.
            _action!(chunk);
            ran++;
        }
    }

    sealed class Worker
    {
        readonly CoreTeam _team;
        readonly ManualResetEventSlim _wake = new(false, spinCount: 0);
        int _sleeping;

        public Worker(CoreTeam team, int index)
        {
            _team = team;
            new Thread(Loop) { IsBackground = true, Name = $"decode-matvec-{index + 1}" }.Start();
        }

        public void Wake()
        {
            if (Volatile.Read(ref _sleeping) == 1) _wake.Set();
        }

        void Loop()
        {
            long seen = 0;
            long spinTicks = (long)(SpinBeforeSleep.TotalSeconds * System.Diagnostics.Stopwatch.Frequency);
            while (true)
            {
                long spinStart = System.Diagnostics.Stopwatch.GetTimestamp();
                long generation;
                while ((generation = Volatile.Read(ref _team._state) >> 32) == seen)
                {
                    if (System.Diagnostics.Stopwatch.GetTimestamp() - spinStart < spinTicks)
                    {
                        Thread.SpinWait(20);
                        continue;
                    }
                    _wake.Reset();
                    Interlocked.Exchange(ref _sleeping, 1); // the caller's Wake after its own fenced write sees this
                    if (Volatile.Read(ref _team._state) >> 32 == seen) _wake.Wait();
                    Volatile.Write(ref _sleeping, 0);
                    spinStart = System.Diagnostics.Stopwatch.GetTimestamp();
                }
                seen = generation;
                int ran = _team.Work(generation);
                if (ran > 0) Interlocked.Add(ref _team._done, ran);
            }
        }
    }
}
