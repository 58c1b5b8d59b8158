using System.Diagnostics;
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
    readonly Action<string> _onDelta;
    readonly ReplyText _reply;
    readonly Generator _generator;
    readonly List<int> _generated;
    readonly Stopwatch _clock = Stopwatch.StartNew();
    double _prefillMs;
    int _prefilled, _endOfSequence; // an end-of-sequence token counts as a completion token, never decoded
    KvCache? _cache;
    bool _disposed;

    /// <param name="decode">Text of generated ids (special tokens dropped).</param>
    /// <param name="clean">The prompt format's clean-up of reply text (prefix-stable), or null.</param>
    /// <param name="onDelta">Receives each piece of reply text as soon as it is final.</param>
    public DecodingSequence(ICausalLanguageModel model, GenerationRequest request, Func<IReadOnlyList<int>, string> decode,
        Func<string, string>? clean, Action<string> onDelta, CancellationToken cancellation)
    {
        _model = model;
        Request = request;
        _decode = decode;
        _onDelta = onDelta;
        Cancellation = cancellation;
        _reply = new ReplyText(request.StopStrings, clean);
        _generator = Sampler.NewGenerator(request.Sampling.Seed, model.Device);
        _generated = new List<int>(request.MaxNewTokens);
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
        Accept(Sampler.Next(_model.Logits(hidden[0, -1]), Request.Sampling, Seen, _generator)); // the head runs on the last position only
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
        var delta = _reply.Update(_decode(_generated));
        if (delta.Length > 0) _onDelta(delta);
        if (_reply.Stopped) Finished = FinishReason.Stop;
        else if (_generated.Count >= Request.MaxNewTokens) Finished = FinishReason.Length;
    }

    /// <summary>Ends the sequence early because its caller left.</summary>
    public void Cancel() => Finished ??= FinishReason.Cancelled;

    /// <summary>Flushes the held-back text, frees the cache and records the result.</summary>
    public GenerationResult Complete()
    {
        var finish = Finished ?? FinishReason.Length;
        var last = _reply.Finish(_decode(_generated));
        if (last.Length > 0 && finish != FinishReason.Cancelled) _onDelta(last);
        Dispose();
        double elapsed = _clock.Elapsed.TotalMilliseconds;
        var result = new GenerationResult(_reply.Text, Request.PromptIds.Length, _generated.Count + _endOfSequence, finish, _prefillMs, _prefillMs == 0 ? 0 : elapsed - _prefillMs);
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

/// <summary>One decode step for a batch of sequences: one forward over their last tokens, one sampled token each.</summary>
public static class DecodeStep
{
    public static void Run(ICausalLanguageModel model, IReadOnlyList<DecodingSequence> batch)
    {
        using var step = torch.NewDisposeScope();
        var ids = torch.tensor(batch.Select(s => (long)s.LastToken).ToArray(), [batch.Count, 1], device: model.Device);
        var hidden = model.DecodeBatch(ids, [.. batch.Select(s => s.Cache)]); // [B, 1, H]
        var logits = model.Logits(hidden.select(1, 0));                       // [B, V]: one pass over the head for all rows
        for (int i = 0; i < batch.Count; i++)
            batch[i].Accept(Sampler.Next(logits[i], batch[i].Request.Sampling, batch[i].Seen, batch[i].Generator));
    }
}
