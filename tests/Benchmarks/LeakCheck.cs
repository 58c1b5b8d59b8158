using System.Runtime;
using TorchSharp;

namespace Service.Benchmarks;

/// <summary>Process memory after a number of completed requests.</summary>
/// <param name="GcHeapBytes">GC heap size as of the last collection (live objects and fragmentation, not garbage since).</param>
/// <param name="LiveTensors">Tensors of every thread not yet disposed (TorchSharp's Tensor.TotalCount).</param>
public sealed record MemorySample(int Requests, long ResidentBytes, long GcHeapBytes, long GcCommittedBytes, long LiveTensors)
{
    public static MemorySample Take(int requests)
    {
        var gc = GC.GetGCMemoryInfo();
        return new(requests, ResidentMemory.CurrentBytes(), gc.HeapSizeBytes, gc.TotalCommittedBytes, torch.Tensor.TotalCount);
    }
}

/// <summary>
/// Issue 5's "no growth over 1,000 requests": a fixed number of requests at constant concurrency
/// after a warm-up, memory sampled at even intervals (by the client whose response completed the
/// interval, while the others keep sending).
/// </summary>
public sealed record LeakCheck(int Clients, int Requests, int WarmUpRequests, bool ServerGc, IReadOnlyList<MemorySample> Samples)
{
    /// <summary>
    /// Growth is taken from the sample at a fifth of the run (request 200 of 1,000): until then
    /// connection pools, Kestrel's buffers and tiered JIT still settle.
    /// </summary>
    public MemorySample From => Samples.First(s => s.Requests >= Requests / 5);
    public MemorySample To => Samples[^1];
    public long ResidentGrowth => To.ResidentBytes - From.ResidentBytes;
    /// <summary>Between the two idle samples (after the warm-up, after the last response): the others count the tensors of requests in flight.</summary>
    public long TensorGrowth => To.LiveTensors - Samples[0].LiveTensors;

    /// <summary>
    /// RSS growth allowed: 2% of the weights (14 MB at mBERT-base shape). Constant load moves RSS by a
    /// few MB (allocator and GC high-water marks), while a leak scales with requests: one leaked
    /// [16, 768] float32 hidden state per request would add 39 MB over 800. Leaked tensors of any
    /// size show exactly in the live-tensor count, which must not grow.
    /// </summary>
    public static double AllowedGrowth(long weightBytes) => 0.02 * weightBytes;

    public TargetCheck Target(long weightBytes) => new(
        $"no RSS growth over {Requests} requests at {Clients} clients (request {From.Requests} to {To.Requests}, < 2% of weight bytes; live tensors back to their count after the warm-up)",
        $"{ResidentGrowth / 1e6:+0.0;-0.0} MB (allowed {AllowedGrowth(weightBytes) / 1e6:F1}), live tensors {TensorGrowth:+0;-0}",
        ResidentGrowth <= AllowedGrowth(weightBytes) && TensorGrowth <= 0);

    public static async Task<LeakCheck> RunAsync(Func<Task> request, int clients, int requests, int sampleEvery, int warmUp)
    {
        int warmIssued = 0;
        await Task.WhenAll(Enumerable.Range(0, clients).Select(async _ => { while (Interlocked.Increment(ref warmIssued) <= warmUp) await request(); }));
        var samples = new List<MemorySample> { MemorySample.Take(0) };
        int issued = 0, completed = 0;
        await Task.WhenAll(Enumerable.Range(0, clients).Select(async _ =>
        {
            while (Interlocked.Increment(ref issued) <= requests)
            {
                await request();
                int done = Interlocked.Increment(ref completed);
                if (done % sampleEvery == 0 || done == requests)
                    lock (samples) samples.Add(MemorySample.Take(done));
            }
        }));
        return new LeakCheck(clients, requests, warmUp, GCSettings.IsServerGC, [.. samples.OrderBy(s => s.Requests)]);
    }
}
