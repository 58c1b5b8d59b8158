using System.Diagnostics;
using Service.Inference.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Service.Inference.Generation;

/// <summary>What to generate: the prompt's ids, how many tokens at most, how to sample and when to stop.</summary>
public sealed record GenerationRequest(
    int[] PromptIds,
    int MaxNewTokens,
    SamplingParameters Sampling,
    IReadOnlySet<int> EndOfSequenceIds,
    IReadOnlyList<string> StopStrings);

public enum FinishReason { Stop, Length, Cancelled }

public sealed record GenerationResult(string Text, int PromptTokens, int CompletionTokens, FinishReason FinishReason, double PrefillMs, double DecodeMs);

/// <summary>
/// Prefill, then one token at a time with the request's KV cache. Runs on the model host's thread:
/// every step's tensors die with that step's dispose scope, and the cancellation token is checked
/// before every forward, so a caller that leaves frees the host within one step.
/// </summary>
public static class GenerationLoop
{
    /// <param name="decode">Text of generated ids (special tokens dropped).</param>
    /// <param name="clean">The prompt format's clean-up of reply text (prefix-stable), or null.</param>
    /// <param name="onDelta">Receives each piece of reply text as soon as it is final.</param>
    public static GenerationResult Run(ICausalLanguageModel model, GenerationRequest request, Func<IReadOnlyList<int>, string> decode,
        Func<string, string>? clean, Action<string> onDelta, CancellationToken cancellation)
    {
        using var scope = torch.NewDisposeScope();
        using var mode = torch.inference_mode();
        using var cache = model.NewCache(request.PromptIds.Length + request.MaxNewTokens);
        using var generator = Sampler.NewGenerator(request.Sampling.Seed);
        var reply = new ReplyText(request.StopStrings, clean);
        var generated = new List<int>(request.MaxNewTokens);
        var finish = FinishReason.Length;
        var clock = Stopwatch.StartNew();
        double prefillMs = 0;
        int endOfSequence = 0; // counted as a completion token, never decoded
        int[] next = request.PromptIds;
        while (generated.Count < request.MaxNewTokens)
        {
            if (cancellation.IsCancellationRequested) { finish = FinishReason.Cancelled; break; }
            int id = NextToken(model, next, cache, request.Sampling, request.PromptIds.Concat(generated), generator);
            if (prefillMs == 0) prefillMs = clock.Elapsed.TotalMilliseconds;
            if (request.EndOfSequenceIds.Contains(id)) { finish = FinishReason.Stop; endOfSequence = 1; break; }
            generated.Add(id);
            var delta = reply.Update(decode(generated));
            if (delta.Length > 0) onDelta(delta);
            if (reply.Stopped) { finish = FinishReason.Stop; break; }
            next = [id];
        }
        var last = reply.Finish(decode(generated));
        if (last.Length > 0 && finish != FinishReason.Cancelled) onDelta(last);
        var result = new GenerationResult(reply.Text, request.PromptIds.Length, generated.Count + endOfSequence, finish, prefillMs, clock.Elapsed.TotalMilliseconds - prefillMs);
        GenerationMetrics.Record(result);
        return result;
    }

    static int NextToken(ICausalLanguageModel model, int[] ids, KvCache cache, SamplingParameters sampling, IEnumerable<int> seen, Generator generator)
    {
        using var step = torch.NewDisposeScope();
        var input = torch.tensor(ids.Select(i => (long)i).ToArray(), [1, ids.Length], device: model.Device);
        var hidden = model.Forward(input, cache);            // [1, T, H]
        var logits = model.Logits(hidden[0, -1]);            // [V]: the head runs on the last position only
        return Sampler.Next(logits, sampling, seen, generator);
    }
}
