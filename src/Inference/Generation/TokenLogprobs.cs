using Service.Inference.Tokenization;
using TorchSharp;
using static TorchSharp.torch;

namespace Service.Inference.Generation;

/// <summary>A generated token's log-probability and its most likely alternatives, each with its text alone and its bytes.</summary>
public sealed record TokenLogprob(int Id, string Token, byte[] Bytes, double Logprob, IReadOnlyList<TopLogprob> Top);

public sealed record TopLogprob(int Id, string Token, byte[] Bytes, double Logprob);

/// <summary>A request for log-probabilities: of every generated token, with <see cref="Top"/> alternatives (0-20) each.</summary>
public sealed record LogprobOptions(int Top, TokenTable Tokens)
{
    public const int MaxTop = 20;

    /// <summary>OpenAI's `logprobs` and `top_logprobs`: null when log-probabilities are off; 400 naming the field otherwise.</summary>
    public static LogprobOptions? From(bool? logprobs, int? top, Func<TokenTable> tokens)
    {
        if (top is { } n && (n < 0 || n > MaxTop))
            throw InferenceException.Invalid($"top_logprobs must be between 0 and {MaxTop}; it was {n}.", "top_logprobs");
        if (logprobs != true)
        {
            if (top is > 0)
                throw InferenceException.Invalid("top_logprobs needs logprobs: true.", "top_logprobs");
            return null;
        }
        return new LogprobOptions(top ?? 0, tokens());
    }
}

/// <summary>
/// Sampling that also reports log-probabilities, from the distribution the token is drawn from: after the
/// repetition penalty and temperature, before top-k and top-p truncation (OpenAI's definition); greedy decoding
/// reports the raw softmax. Only requests that ask pay for it: others go through <see cref="Sampler.Next"/>.
/// </summary>
public static class TokenLogprobs
{
    /// <summary>A token excluded outright (guided output) has log-probability -inf, which JSON cannot carry; OpenAI and vLLM report -9999.</summary>
    public const double Floor = -9999.0;

    public static (int Id, TokenLogprob Entry) Sample(Tensor logits, SamplingParameters p, IEnumerable<int> previous, Generator generator, LogprobOptions options)
    {
        using var scope = torch.NewDisposeScope();
        var distribution = Sampler.Distribution(logits, p, previous);
        int id = Sampler.Pick(distribution, p, generator);
        var logprobs = distribution.to(ScalarType.Float64).log_softmax(-1); // float64: small log-probabilities keep their digits
        var top = new List<TopLogprob>(options.Top);
        if (options.Top > 0)
        {
            var (values, indices) = logprobs.topk(Math.Min(options.Top, (int)logprobs.shape[0]));
            var v = values.cpu().data<double>().ToArray();
            var ix = indices.cpu().data<long>().ToArray();
            for (int i = 0; i < v.Length; i++)
                top.Add(new TopLogprob((int)ix[i], Text(options.Tokens, (int)ix[i]), Bytes(options.Tokens, (int)ix[i]), Bounded(v[i])));
        }
        double chosen = Bounded(logprobs[id].item<double>());
        return (id, new TokenLogprob(id, Text(options.Tokens, id), Bytes(options.Tokens, id), chosen, top));
    }

    static double Bounded(double logprob) => Math.Max(logprob, Floor);

    static string Text(TokenTable tokens, int id) => id < tokens.Count ? tokens.Texts[id] : "";

    static byte[] Bytes(TokenTable tokens, int id) => id < tokens.Count ? tokens.Bytes[id] : [];
}
