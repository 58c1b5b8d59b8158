using Service.Contracts;
using Service.Inference.Generation;

namespace Service.Api.Streaming;

/// <summary>The generation's log-probability entries in OpenAI's shape (bytes as a list of numbers, not base64).</summary>
public static class ChatLogprobsMapping
{
    public static ChatLogprobs? Of(IReadOnlyList<TokenLogprob>? entries) => entries is null ? null
        : new([.. entries.Select(e => new ChatTokenLogprob(e.Token, e.Logprob, Numbers(e.Bytes),
            [.. e.Top.Select(t => new ChatTopLogprob(t.Token, t.Logprob, Numbers(t.Bytes)))]))]);

    static int[] Numbers(byte[] bytes) => [.. bytes.Select(b => (int)b)];
}
