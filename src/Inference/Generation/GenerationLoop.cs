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

/// <param name="PrefillMs">From the request's submission to its first token: any wait to start, then its prompt.</param>
/// <param name="DecodeMs">From the first token to the last.</param>
public sealed record GenerationResult(string Text, int PromptTokens, int CompletionTokens, FinishReason FinishReason, double PrefillMs, double DecodeMs);

/// <summary>
/// One request from prefill to its last token, alone: the whole prompt in one forward, then one token
/// per step. Runs on the model host's thread; the cancellation token is checked before every
/// forward, so a caller that leaves frees the host within one step. The service batches concurrent
/// requests through <see cref="Hosting.ChatScheduler"/>, which drives the same <see cref="DecodingSequence"/>.
/// </summary>
public static class GenerationLoop
{
    /// <param name="decode">Text of generated ids (special tokens dropped).</param>
    /// <param name="clean">The prompt format's clean-up of reply text (prefix-stable), or null.</param>
    /// <param name="onDelta">Receives each piece of reply text as soon as it is final.</param>
    public static GenerationResult Run(ICausalLanguageModel model, GenerationRequest request, Func<IReadOnlyList<int>, string> decode,
        Func<string, string>? clean, Action<string> onDelta, CancellationToken cancellation)
    {
        using var mode = torch.inference_mode();
        using var sequence = new DecodingSequence(model, request, decode, clean, onDelta, cancellation);
        while (sequence.Finished is null)
        {
            if (cancellation.IsCancellationRequested) sequence.Cancel();
            else if (sequence.IsPrefilling) sequence.Prefill(int.MaxValue);
            else DecodeStep.Run(model, [sequence]);
        }
        return sequence.Complete();
    }
}
