using System.Diagnostics;
using Service.Inference.Generation.Guided;
using Service.Inference.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Service.Inference.Generation;

/// <summary>
/// One request's generation state between steps: its cache, its generator, the tokens and text so far.
/// A step either feeds it a chunk of its prompt (<see cref="Prefill"/>) or, together with other
/// sequences, one token (<see cref="DecodeStep.Run"/>); <see cref="Accept"/> then takes the sampled token.
/// Everything here runs on the model host's thread; the cache lives outside dispose scopes until
/// <see cref="Complete"/> frees it.
/// </summary>
public sealed class DecodingSequence : IDisposable
{
    readonly ICausalLanguageModel _model;
    readonly Func<IReadOnlyList<int>, string> _decode;
    readonly Action<ReplyDelta> _onDelta;
    readonly ReplyText _reply;
    readonly Generator _generator;
    readonly List<int> _generated;
    readonly Stopwatch _clock = Stopwatch.StartNew();
    double _prefillMs;
    int _prefilled, _endOfSequence; // an end-of-sequence token counts as a completion token, never decoded
    KvCache? _cache;
    bool _disposed;
    List<TokenLogprob>? _logprobs; // only when the request asks for them
    TokenLogprob? _drawn;
    int _logprobsSent;
    readonly TokenGuide? _guide; // only for guided output

    /// <param name="decode">Text of generated ids (special tokens dropped).</param>
    /// <param name="clean">The prompt format's clean-up of reply text (prefix-stable), or null.</param>
    /// <param name="onDelta">Receives each piece of reply text as soon as it is final, with its tokens' log-probabilities when asked for.</param>
    public DecodingSequence(ICausalLanguageModel model, GenerationRequest request, Func<IReadOnlyList<int>, string> decode,
        Func<string, string>? clean, Action<ReplyDelta> onDelta, CancellationToken cancellation)
    {
        _model = model;
        Request = request;
        _decode = decode;
        _onDelta = onDelta;
        Cancellation = cancellation;
        _reply = new ReplyText(request.StopStrings, clean);
        _generator = Sampler.NewGenerator(request.Sampling.Seed, model.Device);
        _generated = new List<int>(request.MaxNewTokens);
        if (request.Guide is { } guide) _guide = new TokenGuide(guide, request.EndOfSequenceIds);
    }

    public GenerationRequest Request { get; }
    public CancellationToken Cancellation { get; }
    /// <summary>Cache positions this sequence may use: prompt plus the longest reply.</summary>
    public int Positions => Request.PromptIds.Length + Request.MaxNewTokens;
    /// <summary>What those positions take in the cache: keys and values, every layer, in the model's dtype.</summary>
    public long KvBytes => Positions * _model.KvBytesPerPosition;
    public bool IsPrefilling => _prefilled < Request.PromptIds.Length;
    public int PromptTokensLeft => Request.PromptIds.Length - _prefilled;
    public FinishReason? Finished { get; private set; }
    /// <summary>The token to feed next: the last one sampled.</summary>
    public int LastToken => _generated[^1];
    public IEnumerable<int> Seen => Request.PromptIds.Concat(_generated);
    public Generator Generator => _generator;

    /// <summary>Allocated on first use, at full size, so a decode step never grows it.</summary>
    public KvCache Cache => _cache ??= _model.NewCache(Positions);

    /// <summary>The cache if a forward has allocated it (a prefix cache keeps its positions when the sequence ends).</summary>
    public KvCache? AllocatedCache => _cache;

    /// <summary>
    /// Starts from the first <paramref name="length"/> positions of another cache that holds the same prompt tokens
    /// (<see cref="PrefixCache"/>, or another choice of the same prompt), so prefill runs only the rest; the last
    /// prompt token is always run here, since its logits give the first reply token.
    /// </summary>
    public void ReusePrefix(KvCache source, int length)
    {
        if (_prefilled != 0 || length >= Request.PromptIds.Length)
            throw new InvalidOperationException($"A prefix of {length} tokens cannot start a prompt of {Request.PromptIds.Length} with {_prefilled} already run.");
        Cache.CopyPrefixFrom(source, length);
        _prefilled = length;
    }

    /// <summary>
    /// Runs up to <paramref name="maxTokens"/> more prompt tokens through the model (all of them when the
    /// model cannot split a prompt); when that ends the prompt, the first reply token is sampled from
    /// the last position's logits.
    /// </summary>
    public void Prefill(int maxTokens)
    {
        using var step = torch.NewDisposeScope();
        int take = _model.CanChunkPrefill ? Math.Min(maxTokens, PromptTokensLeft) : PromptTokensLeft;
        var ids = Request.PromptIds.AsSpan(_prefilled, take).ToArray().Select(i => (long)i).ToArray();
        var hidden = _model.Forward(torch.tensor(ids, [1, take], device: _model.Device), Cache); // [1, take, H]
        _prefilled += take;
        if (IsPrefilling) return;
        Next(_model.Logits(hidden[0, -1])); // the head runs on the last position only
    }

    /// <summary>
    /// True when only the last prompt token is left (the rest came from a cache, or the prompt is one token) and the
    /// model may continue a cache: that token can then run as one row of a decode step with the streaming sequences
    /// instead of as a forward of its own (a whole batch of newcomers that hit the prefix cache costs one step).
    /// </summary>
    public bool RunsLastPromptTokenInDecodeStep => PromptTokensLeft == 1 && _model.CanChunkPrefill;

    /// <summary>The token this sequence feeds a decode step: its last sampled one, or its last prompt token.</summary>
    public int StepInput => IsPrefilling ? Request.PromptIds[_prefilled] : LastToken;

    /// <summary>Takes a decode step's logits row for <see cref="StepInput"/>: the prompt is then complete, and the next token is sampled.</summary>
    public void Stepped(Tensor logits)
    {
        if (IsPrefilling) _prefilled++;
        Next(logits);
    }

    /// <summary>Samples the next token from this sequence's logits row [V] and takes it.</summary>
    public void Next(Tensor logits) => Accept(Choose(logits));

    int Choose(Tensor logits)
    {
        if (_guide is not null) logits = _guide.Mask(logits);
        if (Request.Logprobs is not { } options) return Sampler.Next(logits, Request.Sampling, Seen, _generator);
        (int id, _drawn) = TokenLogprobs.Sample(logits, Request.Sampling, Seen, _generator, options);
        return id;
    }

    /// <summary>Takes the sampled token: ends the sequence at end-of-sequence, a stop string or the length limit.</summary>
    public void Accept(int id)
    {
        if (_prefillMs == 0) _prefillMs = _clock.Elapsed.TotalMilliseconds;
        if (Request.EndOfSequenceIds.Contains(id))
        {
            _endOfSequence = 1;
            Finished = FinishReason.Stop;
            return;
        }
        _generated.Add(id);
        _guide?.Advance(id);
        if (_drawn is not null) (_logprobs ??= []).Add(_drawn);
        _drawn = null;
        var delta = _reply.Update(_decode(_generated));
        if (delta.Length > 0) _onDelta(new ReplyDelta(delta, UnsentLogprobs()));
        if (_reply.Stopped) Finished = FinishReason.Stop;
        else if (_generated.Count >= Request.MaxNewTokens) Finished = FinishReason.Length;
    }

    /// <summary>Entries of the tokens accepted since the last delta: a streamed chunk carries those of the tokens in its text.</summary>
    List<TokenLogprob>? UnsentLogprobs()
    {
        if (_logprobs is null || _logprobsSent == _logprobs.Count) return null;
        var unsent = _logprobs[_logprobsSent..];
        _logprobsSent = _logprobs.Count;
        return unsent;
    }

    /// <summary>Ends the sequence early because its caller left.</summary>
    public void Cancel() => Finished ??= FinishReason.Cancelled;

    /// <summary>Flushes the held-back text, frees the cache and records the result.</summary>
    public GenerationResult Complete()
    {
        var finish = Finished ?? FinishReason.Length;
        var last = _reply.Finish(_decode(_generated));
        var unsent = UnsentLogprobs(); // tokens whose text was held back (a stop string, an unfinished character)
        if ((last.Length > 0 || unsent is { Count: > 0 }) && finish != FinishReason.Cancelled) _onDelta(new ReplyDelta(last, unsent));
        Dispose();
        double elapsed = _clock.Elapsed.TotalMilliseconds;
        var result = new GenerationResult(_reply.Text, Request.PromptIds.Length, _generated.Count + _endOfSequence, finish, _prefillMs, _prefillMs == 0 ? 0 : elapsed - _prefillMs,
            Request.Logprobs is null ? null : _logprobs ?? []);
        GenerationMetrics.Record(result);
        return result;
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _cache?.Dispose();
        _cache = null;
        _generator.Dispose();
    }
}

/// <summary>
/// One decode step for a batch of sequences: one forward over their last tokens (or, for a sequence whose prompt came
/// from a cache but for its last token, that token), one sampled token each.
/// </summary>
public static class DecodeStep
{
    public static void Run(ICausalLanguageModel model, IReadOnlyList<DecodingSequence> batch)
    {
        using var step = torch.NewDisposeScope();
        var ids = torch.tensor(batch.Select(s => (long)s.StepInput).ToArray(), [batch.Count, 1], device: model.Device);
        var hidden = model.DecodeBatch(ids, [.. batch.Select(s => s.Cache)]); // [B, 1, H]
        var logits = model.Logits(hidden.select(1, 0));                       // [B, V]: one pass over the head for all rows
        for (int i = 0; i < batch.Count; i++)
            batch[i].Stepped(logits[i]);
    }
}
