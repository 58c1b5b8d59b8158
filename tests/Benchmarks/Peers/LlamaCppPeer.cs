using System.Diagnostics;
using LLama;
using LLama.Common;
using LLama.Native;

namespace Service.Benchmarks.Peers;

/// <summary>One greedy generation by llama.cpp: the tokens, the prompt's time and the time from the first token to the last.</summary>
public sealed record PeerGeneration(int[] Tokens, double PrefillMs, double DecodeMs)
{
    public double DecodeTokensPerSecond => (Tokens.Length - 1) / (DecodeMs / 1000);
}

/// <summary>
/// llama.cpp through LLamaSharp (CPU backend, one thread per core), on a GGUF written from the
/// benchmark's weights. Prompts go in as token ids (the service's own tokenization), so both engines
/// see the same sequence; each token is the argmax of llama.cpp's logits.
/// </summary>
public sealed class LlamaCppPeer : IDisposable
{
    readonly LLamaWeights _weights;
    readonly LLamaContext _context;

    public LlamaCppPeer(string gguf, int contextSize)
    {
        NativeLogConfig.llama_log_set((level, message) =>
        {
            if (level == LLamaLogLevel.Error) Console.Error.Write("llama.cpp: " + message);
        });
        int threads = Environment.ProcessorCount;
        var parameters = new ModelParams(gguf)
        {
            ContextSize = (uint)contextSize, BatchSize = (uint)contextSize, GpuLayerCount = 0, Threads = threads, BatchThreads = threads,
        };
        _weights = LLamaWeights.LoadFromFile(parameters);
        _context = _weights.CreateContext(parameters);
    }

    public PeerGeneration Greedy(IReadOnlyList<int> prompt, int newTokens)
    {
        _context.NativeHandle.MemoryClear(true);
        var batch = new LLamaBatch();
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < prompt.Count; i++) batch.Add(prompt[i], i, LLamaSeqId.Zero, i == prompt.Count - 1);
        Decode(batch);
        var tokens = new List<int>(newTokens) { ArgMax(_context.NativeHandle.GetLogitsIth(batch.TokenCount - 1)) };
        double prefill = clock.Elapsed.TotalMilliseconds;
        while (tokens.Count < newTokens)
        {
            batch.Clear();
            batch.Add(tokens[^1], prompt.Count + tokens.Count - 1, LLamaSeqId.Zero, true);
            Decode(batch);
            tokens.Add(ArgMax(_context.NativeHandle.GetLogitsIth(0)));
        }
        return new PeerGeneration([.. tokens], prefill, clock.Elapsed.TotalMilliseconds - prefill);
    }

    void Decode(LLamaBatch batch)
    {
        var result = _context.Decode(batch);
        if (result != DecodeResult.Ok) throw new InvalidOperationException($"llama_decode returned {result}.");
    }

    static int ArgMax(Span<float> logits)
    {
        int best = 0;
        for (int i = 1; i < logits.Length; i++) if (logits[i] > logits[best]) best = i;
        return best;
    }

    public void Dispose()
    {
        _context.Dispose();
        _weights.Dispose();
    }
}
