using System.Diagnostics;
using Service.Inference.Generation;
using Service.Inference.Models.Llama;
using Service.Inference.Runtime;
using static TorchSharp.torch;

namespace Service.Benchmarks.Peers;

/// <summary>llama.cpp beside the service on the same chat weights in the same dtype, or why it did not run.</summary>
public sealed record ChatPeerReport(string? Skipped, long GgufBytes = 0, int GreedyTokens = 0, int AgreeingPrefix = 0, int AgreeingPositions = 0,
    IReadOnlyList<double>? ServiceDecode = null, IReadOnlyList<double>? PeerDecode = null,
    int PromptTokens = 0, IReadOnlyList<double>? ServicePrefillMs = null, IReadOnlyList<double>? PeerPrefillMs = null)
{
    public double ServiceDecodeP50 => Measure.Median(ServiceDecode!);
    public double PeerDecodeP50 => Measure.Median(PeerDecode!);
    public double ServicePrefillTokensPerSecond => PromptTokens / (Measure.Median(ServicePrefillMs!) / 1000);
    public double PeerPrefillTokensPerSecond => PromptTokens / (Measure.Median(PeerPrefillMs!) / 1000);
}

/// <summary>
/// The chat comparison: the checkpoint written as GGUF in the served dtype, then greedy decoding of
/// the same prompt ids by both engines in alternating rounds (tokens compared position by position),
/// and the long prompt's prefill, also alternating.
/// </summary>
public static class ChatPeerComparison
{
    public static async Task<ChatPeerReport> RunAsync(ServiceUnderTest service, string checkpointDirectory, LlamaConfig config, string dtype,
        int[] shortPrompt, int[] longPrompt, BenchmarkSettings settings, TextWriter log)
    {
        var gguf = Path.Combine(checkpointDirectory, $"model-{dtype}.gguf");
        try
        {
            var clock = Stopwatch.StartNew();
            // int8 (Models:Chat:Weights=int8) meets llama.cpp's own 8-bit format, Q8_0.
            long bytes = dtype == "int8"
                ? QwenGguf.Write(checkpointDirectory, config, ScalarType.Float32, gguf, q8_0: true)
                : QwenGguf.Write(checkpointDirectory, config, TorchRuntime.ResolveDType(dtype), gguf);
            log.WriteLine($"GGUF ({bytes / 1e6:F0} MB, {dtype}) written in {clock.Elapsed.TotalSeconds:F1} s");
            int tokens = settings.ChatDecodeTokens;
            using var peer = new LlamaCppPeer(gguf, Math.Max(longPrompt.Length, shortPrompt.Length + tokens) + 16);
            var host = service.Host;

            int[] ServiceGreedy(Inference.Hosting.LoadedModels m, int[] prompt, int count, out GenerationResult result)
            {
                int[] generated = [];
                var request = new GenerationRequest(prompt, count, new SamplingParameters(Temperature: 0, TopP: 1), new HashSet<int>(), []);
                var tokenizer = m.Chat!.Bundle.Tokenizer;
                // The decode callback sees the generated ids after every token: the last call holds them all.
                result = GenerationLoop.Run(m.Chat.Bundle.Model, request, ids => { generated = [.. ids]; return tokenizer.Decode(ids); }, null, _ => { }, CancellationToken.None);
                return generated;
            }

            int rounds = 3; // the first round warms both engines up and is not counted
            var ourRates = new List<double>();
            var theirRates = new List<double>();
            int[] ours = [], theirs = [];
            for (int r = 0; r < rounds; r++)
            {
                var (ids, result) = await host.RunAsync(m => { var ids = ServiceGreedy(m, shortPrompt, tokens, out var res); return (ids, res); });
                var peerRun = peer.Greedy(shortPrompt, tokens);
                (ours, theirs) = (ids, peerRun.Tokens);
                if (r == 0) continue;
                ourRates.Add((ids.Length - 1) / (result.DecodeMs / 1000));
                theirRates.Add(peerRun.DecodeTokensPerSecond);
            }
            int n = Math.Min(ours.Length, theirs.Length);
            int prefix = Enumerable.Range(0, n).TakeWhile(i => ours[i] == theirs[i]).Count();
            int positions = Enumerable.Range(0, n).Count(i => ours[i] == theirs[i]);
            log.WriteLine($"Greedy {dtype}: llama.cpp agrees on the first {prefix} of {n} tokens; decode p50 service {Measure.Median(ourRates):F2}, llama.cpp {Measure.Median(theirRates):F2} tokens/s");

            var ourPrefill = new List<double>();
            var theirPrefill = new List<double>();
            for (int r = 0; r < 1; r++) // one long prompt each: a float32 prefill of 1536 tokens takes seconds per engine
            {
                var result = await host.RunAsync(m => { ServiceGreedy(m, longPrompt, 1, out var res); return res; });
                ourPrefill.Add(result.PrefillMs);
                theirPrefill.Add(peer.Greedy(longPrompt, 1).PrefillMs);
            }
            log.WriteLine($"Prefill {longPrompt.Length} tokens: service {Measure.Median(ourPrefill):F0} ms, llama.cpp {Measure.Median(theirPrefill):F0} ms");
            return new ChatPeerReport(null, bytes, n, prefix, positions, ourRates, theirRates, longPrompt.Length, ourPrefill, theirPrefill);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            log.WriteLine($"llama.cpp skipped: {e.GetType().Name}: {e.Message}");
            return new ChatPeerReport($"llama.cpp failed: {e.GetType().Name}: {e.Message}");
        }
        finally
        {
            File.Delete(gguf);
        }
    }
}
