using Service.Inference.Chat;
using Service.Inference.Generation;
using Service.Inference.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Service.Benchmarks;

/// <summary>
/// One request from prefill to its last token, alone: the whole prompt in one forward, then one token
/// per step. Runs on the model host's thread; the cancellation token is checked before every
/// forward, so a caller that leaves frees the host within one step. The service batches concurrent
/// requests through <see cref="ChatScheduler"/>, which drives the same <see cref="DecodingSequence"/>;
/// this loop is test and benchmark support: the reference "alone" run that a batched reply must equal,
/// and the service side of the llama.cpp comparison (it returns the generated ids).
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
        using var sequence = new DecodingSequence(model, request, decode, clean, delta => onDelta(delta.Text), cancellation);
        while (sequence.Finished is null)
        {
            if (cancellation.IsCancellationRequested) sequence.Cancel();
            else if (sequence.IsPrefilling) sequence.Prefill(int.MaxValue);
            else DecodeStep.Run(model, [sequence]);
        }
        return sequence.Complete();
    }

    /// <summary>A prepared chat generated alone, on the calling thread (the model host's, in tests that use one).</summary>
    public static GenerationResult Generate(this ChatEngine engine, PreparedChat chat, Action<string> onDelta, CancellationToken cancellation) =>
        Run(engine.Bundle.Model, chat.Generation, engine.Bundle.Tokenizer.Decode, engine.Bundle.Format.CleanReply, onDelta, cancellation);
}
