namespace Service.Inference.Generation;

/// <summary>What to generate: the prompt's ids, how many tokens at most, how to sample and when to stop.</summary>
public sealed record GenerationRequest(
    int[] PromptIds,
    int MaxNewTokens,
    SamplingParameters Sampling,
    IReadOnlySet<int> EndOfSequenceIds,
    IReadOnlyList<string> StopStrings,
    LogprobOptions? Logprobs = null,
    Guided.GuideOptions? Guide = null);

public enum FinishReason { Stop, Length, Cancelled }

/// <param name="PrefillMs">From the request's submission to its first token: any wait to start, then its prompt.</param>
/// <param name="DecodeMs">From the first token to the last.</param>
/// <param name="Logprobs">One entry per generated token (end-of-sequence excluded) when the request asked for them.</param>
public sealed record GenerationResult(string Text, int PromptTokens, int CompletionTokens, FinishReason FinishReason, double PrefillMs, double DecodeMs,
    IReadOnlyList<TokenLogprob>? Logprobs = null);

/// <summary>A final piece of reply text, with the log-probabilities of the tokens generated since the previous piece (when asked for).</summary>
public sealed record ReplyDelta(string Text, IReadOnlyList<TokenLogprob>? Logprobs = null);
