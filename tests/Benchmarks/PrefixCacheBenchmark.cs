using System.Text;
using Service.Inference.Chat;
using Service.Inference.Generation;
using Service.Inference.Hosting;

namespace Service.Benchmarks;

/// <summary>
/// Time to first token of turn 10 of a long counselling conversation, with the prefix cache (turns 1 to 9 sent
/// before, so turn 9's prompt and reply are cached) and without it (the same turn-10 prompt run whole), each
/// through its own <see cref="ChatScheduler"/> on the loaded model, nothing else running. Both replies must be identical
/// for a float32 model (cached and recomputed positions agree to float32 rounding). A half-precision model's KV cache rounds
/// each key and value to its dtype, so positions cached during decode steps and the same positions recomputed in one prompt
/// can round a few values to neighbouring halves (HalfPrecisionDecodeTests: logits within 2.6e-4 of each other on the
/// fixtures), and the benchmark's random-weights model samples from a nearly flat distribution over ~10^5 tokens, where a
/// shift that small moves a seeded draw to another token (a trained model's peaked distributions rarely do); there how
/// many replies came out identical is reported.
/// </summary>
public sealed record PrefixCacheFigures(int PromptTokens, int CachedTokens, IReadOnlyList<double> CachedMs, IReadOnlyList<double> UncachedMs, int IdenticalReplies)
{
    public const int Turns = 10;
    public double Ratio => Measure.Median(CachedMs) / Measure.Median(UncachedMs);

    public TargetCheck Target(string dtype) =>
        new($"time to first token of turn {Turns} ({PromptTokens} prompt tokens) with the prefix cache <= 0.2x without ({dtype})", $"{Ratio:F2}x", Ratio <= 0.2);

    public void AppendMarkdown(StringBuilder md)
    {
        md.AppendLine($"| time to first token of turn {Turns} of a conversation ({PromptTokens} prompt tokens, {CachedTokens} of them cached from turn {Turns - 1}; p50 of {CachedMs.Count}) | " +
            $"{Measure.Median(CachedMs):F0} ms with the prefix cache (replies identical to those without it in {IdenticalReplies} of {CachedMs.Count}) | {Measure.Median(UncachedMs):F0} ms without it | {Ratio:F2}x |");
    }

    /// <summary>Runs the conversation <paramref name="repetitions"/> times, each with a fresh cache; returns the turn-10 figures.</summary>
    public static async Task<PrefixCacheFigures> RunAsync(ModelHost host, int promptTokens, int replyTokens, int repetitions, bool halfPrecision, TextWriter log)
    {
        var cached = new List<double>();
        var uncached = new List<double>();
        int prompt = 0, hits = 0, identical = 0;
        for (int rep = 0; rep < repetitions; rep++)
        {
            var withCache = new ChatScheduler(host, new ChatBatchingOptions { MaxBatchSize = 1, KvCacheBudgetMB = 1 << 20, PrefixCaching = true });
            var withoutCache = new ChatScheduler(host, new ChatBatchingOptions { MaxBatchSize = 1, KvCacheBudgetMB = 1 << 20, PrefixCaching = false });
            var history = new List<ChatMessage>();
            var lengths = new List<int>();
            GenerationResult last = null!;
            PreparedChat turn = null!;
            for (int k = 0; k < Turns; k++)
            {
                // Each turn grows the prompt by about the same amount (a user message after the reply before it), to
                // 95% of the input budget at turn 10, whatever length the replies re-tokenize to; no turn is dropped.
                int target = (int)(promptTokens * 0.95 * (k + 1) / Turns);
                var said = history.ToList();
                history.Add(new ChatMessage(ChatRole.User, await host.RunAsync(m => ChatBenchmark.PromptOfLength(m.Chat!, target, said, $"({k + 1}) "))));
                turn = await host.RunAsync(m => m.Chat!.Prepare(new ChatQuery([.. history], MaxTokens: replyTokens, Seed: 7)));
                lengths.Add(turn.Generation.PromptIds.Length);
                if (turn.DroppedTurns > 0)
                    throw new InvalidOperationException($"Turn {k + 1} dropped {turn.DroppedTurns} old turns; the conversation must fit the input budget of {promptTokens} tokens (prompts so far: {string.Join(", ", lengths)}).");
                long hitsBefore = withCache.PrefixHitTokens;
                last = await withCache.SubmitAsync(turn, _ => { });
                hits = (int)(withCache.PrefixHitTokens - hitsBefore);
                history.Add(new ChatMessage(ChatRole.Assistant, last.Text));
            }
            var whole = await withoutCache.SubmitAsync(turn, _ => { });
            if (whole.Text == last.Text) identical++;
            else if (!halfPrecision) throw new InvalidOperationException("Turn 10's reply differs with and without the prefix cache.");
            prompt = turn.Generation.PromptIds.Length;
            cached.Add(last.PrefillMs);
            uncached.Add(whole.PrefillMs);
            log.WriteLine($"Turn {Turns} ({prompt} prompt tokens, {hits} cached): first token after {last.PrefillMs:F0} ms with the prefix cache, {whole.PrefillMs:F0} ms without; replies {(whole.Text == last.Text ? "identical" : "differ")}");
        }
        return new PrefixCacheFigures(prompt, hits, cached, uncached, identical);
    }
}
