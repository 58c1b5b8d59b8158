using Service.Benchmarks;
using Service.Inference.Checkpoints;
using Service.Inference.Generation;
using Service.Inference.Models;
using Service.Inference.Models.Llama;
using Service.Tests.Support;
using TorchSharp;

namespace Service.Tests.Inference.Generation;

public sealed class GenerationLoopTests : IDisposable
{
    readonly ICausalLanguageModel _model = CausalLanguageModelLoader.Load(
        CheckpointDirectory.Open(ChatFixtures.Dir(ChatFixtures.Llama)), torch.CPU, torch.ScalarType.Float32);
    readonly DecoderCase _case = ChatFixtures.Expected(ChatFixtures.Llama).Cases[0];

    public void Dispose() => _model.Dispose();

    // Each id as one character: the loop's text handling is tested without a real tokenizer.
    static string Decode(IReadOnlyList<int> ids) => string.Concat(ids.Select(i => $"<{i}>"));

    GenerationResult Run(int maxTokens, int[]? eos = null, string[]? stops = null, CancellationToken cancellation = default, Action<string>? onDelta = null) =>
        GenerationLoop.Run(_model,
            new GenerationRequest(_case.InputIds, maxTokens, new SamplingParameters(0, 1), new HashSet<int>(eos ?? []), stops ?? []),
            Decode, null, onDelta ?? (_ => { }), cancellation);

    [Fact]
    public void Greedy_generation_equals_the_reference_continuation_and_stops_at_max_tokens()
    {
        var result = Run(_case.Greedy.Length);
        Assert.Equal(Decode(_case.Greedy), result.Text);
        Assert.Equal(FinishReason.Length, result.FinishReason);
        Assert.Equal(_case.Greedy.Length, result.CompletionTokens);
        Assert.Equal(_case.InputIds.Length, result.PromptTokens);
    }

    [Fact]
    public void An_end_of_sequence_token_stops_and_is_not_in_the_text()
    {
        var result = Run(12, eos: [_case.Greedy[3]]);
        Assert.Equal(FinishReason.Stop, result.FinishReason);
        Assert.Equal(4, result.CompletionTokens);
        Assert.Equal(Decode(_case.Greedy[..3]), result.Text);
    }

    [Fact]
    public void A_stop_string_stops_and_is_not_emitted()
    {
        var deltas = new List<string>();
        var stop = $"<{_case.Greedy[2]}><{_case.Greedy[3]}>";
        var result = Run(12, stops: [stop], onDelta: deltas.Add);
        Assert.Equal(FinishReason.Stop, result.FinishReason);
        Assert.Equal(Decode(_case.Greedy[..2]), result.Text);
        Assert.Equal(result.Text, string.Concat(deltas));
    }

    [Fact]
    public void Cancellation_stops_within_one_step()
    {
        using var cancel = new CancellationTokenSource();
        int deltas = 0;
        var result = Run(12, cancellation: cancel.Token, onDelta: _ => { if (++deltas == 2) cancel.Cancel(); });
        Assert.Equal(FinishReason.Cancelled, result.FinishReason);
        Assert.Equal(2, result.CompletionTokens);
    }

    [Fact]
    public void Generation_leaves_no_live_tensors()
    {
        Run(4); // warm-up: lazily created native state is not a per-request leak
        long before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        Run(6, stops: ["<999>"]);
        Assert.Equal(before, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }
}
