using System.ComponentModel;
using System.Text.Json.Serialization;

namespace Service.Contracts;

[Description("Log-probabilities of a choice's tokens (logprobs: true), as OpenAI reports them.")]
public sealed record ChatLogprobs(
    [property: JsonPropertyName("content"), Description("One entry per generated token, in order (the end-of-sequence token is not listed); streamed, each chunk carries the entries of the tokens in its delta.")] IReadOnlyList<ChatTokenLogprob> Content);

[Description("A generated token: its text, log-probability and bytes, and the most likely alternatives at its position.")]
public sealed record ChatTokenLogprob(
    [property: JsonPropertyName("token"), Description("The token's text decoded alone (a piece of a multi-byte character shows as U+FFFD; a special token as its name).")] string Token,
    [property: JsonPropertyName("logprob"), Description("Natural log of its probability under the distribution it was drawn from: after repetition penalty and temperature, before top-k/top-p truncation (greedy: the raw softmax); -9999 for a token guided output excluded.")] double Logprob,
    [property: JsonPropertyName("bytes"), Description("The token's UTF-8 bytes; a byte-level piece of a multi-byte character gives its real bytes.")] IReadOnlyList<int> Bytes,
    [property: JsonPropertyName("top_logprobs"), Description("The top_logprobs most likely tokens at this position, most likely first (empty when top_logprobs is 0).")] IReadOnlyList<ChatTopLogprob> TopLogprobs);

[Description("An alternative token at a position.")]
public sealed record ChatTopLogprob(
    [property: JsonPropertyName("token"), Description("The token's text decoded alone.")] string Token,
    [property: JsonPropertyName("logprob"), Description("Natural log of its probability (same distribution as the generated token's).")] double Logprob,
    [property: JsonPropertyName("bytes"), Description("The token's UTF-8 bytes.")] IReadOnlyList<int> Bytes);
