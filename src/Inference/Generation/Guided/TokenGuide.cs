using System.Runtime.CompilerServices;
using Service.Inference.Tokenization;
using TorchSharp;
using static TorchSharp.torch;

namespace Service.Inference.Generation.Guided;

/// <summary>
/// Constrains one sequence token by token: a token is allowed only if the reply's bytes so far plus its bytes
/// remain a prefix of a valid output; once the output is complete, end-of-sequence is allowed (and, when
/// nothing can follow, only it). Logits of disallowed tokens become -inf before sampling.
/// </summary>
public sealed class TokenGuide(GuideOptions options, IReadOnlySet<int> endOfSequence)
{
    OutputState? _state = options.Grammar.Start();
    // Masks inside a string, by what decides them: a long string's steps mostly repeat one mask, the costliest
    // (nearly every token is allowed and tried). A few entries: a mask is one bool per vocabulary entry.
    readonly Dictionary<(OutputState?, (int, int, byte, byte, int, int)), bool[]> _stringMasks = [];

    /// <summary>
    /// Builds the vocabulary's byte order of <paramref name="tokens"/> (about half a second for 150k tokens) where it is
    /// called, once per tokenizer: on the request's thread, so the model's thread never stalls the batch for it.
    /// </summary>
    public static void Prepare(TokenTable tokens) => PrefixOrder.For(tokens);

    public Tensor Mask(Tensor logits)
    {
        var allowed = torch.tensor(Allowed((int)logits.shape[0]), device: logits.device);
        return logits.masked_fill(allowed.logical_not(), double.NegativeInfinity);
    }

    /// <summary>
    /// Whether each id may come next. Walks the vocabulary in byte order, so tokens that share a prefix share its
    /// states and, once a prefix leaves the grammar, every token under it is refused without a step (as a trie walk would).
    /// </summary>
    public bool[] Allowed(int vocabSize)
    {
        if (_state is not { Head: StringMatcher text } inside) return Compute(vocabSize);
        var key = (inside.Tail, text.Signature(PrefixOrder.For(options.Tokens).MaxLength));
        if (_stringMasks.TryGetValue(key, out var known) && known.Length == vocabSize) return known;
        if (_stringMasks.Count >= 4) _stringMasks.Clear();
        return _stringMasks[key] = Compute(vocabSize);
    }

    bool[] Compute(int vocabSize)
    {
        var allowed = new bool[vocabSize];
        if (_state is { } state)
        {
            var order = PrefixOrder.For(options.Tokens);
            var states = new OutputState?[order.MaxLength + 1];
            states[0] = state;
            int dead = int.MaxValue; // the depth at which the current path left the grammar: every token below it is refused untried
            for (int k = 0; k < order.Ids.Length; k++)
            {
                int shared = order.Shared[k];
                if (dead <= shared) continue;
                dead = int.MaxValue;
                int id = order.Ids[k];
                var bytes = options.Tokens.Bytes[id];
                for (int d = shared; d < bytes.Length; d++)
                    if ((states[d + 1] = states[d]!.Feed(bytes[d])) is null) { dead = d + 1; break; }
                if (dead == int.MaxValue && id < vocabSize) allowed[id] = true;
            }
        }
        bool stuck = !allowed.Contains(true); // nothing valid can follow (or a token left the grammar): end the reply
        foreach (int id in endOfSequence)
            if (id < vocabSize) allowed[id] = stuck || _state!.IsComplete;
        return allowed;
    }

    /// <summary>Moves past a generated token (not end-of-sequence).</summary>
    public void Advance(int id)
    {
        if (id >= options.Tokens.Count || options.Tokens.Dropped[id]) return; // adds nothing to the reply
        foreach (byte b in options.Tokens.Bytes[id]) _state = _state?.Feed(b);
    }

    /// <summary>The vocabulary's ids sorted by their bytes, with how many leading bytes each shares with the one before.</summary>
    sealed class PrefixOrder
    {
        static readonly ConditionalWeakTable<TokenTable, PrefixOrder> Orders = new();

        public int[] Ids { get; }
        public int[] Shared { get; }
        public int MaxLength { get; }

        PrefixOrder(TokenTable tokens)
        {
            var bytes = tokens.Bytes;
            Ids = [.. Enumerable.Range(0, tokens.Count).Where(i => bytes[i].Length > 0 && !tokens.Dropped[i]).Order(Comparer<int>.Create((a, b) => bytes[a].AsSpan().SequenceCompareTo(bytes[b])))];
            Shared = new int[Ids.Length];
            for (int k = 1; k < Ids.Length; k++) Shared[k] = bytes[Ids[k]].AsSpan().CommonPrefixLength(bytes[Ids[k - 1]]);
            MaxLength = Ids.Length == 0 ? 0 : Ids.Max(i => bytes[i].Length);
        }

        public static PrefixOrder For(TokenTable tokens) => Orders.GetValue(tokens, t => new PrefixOrder(t));
    }
}
