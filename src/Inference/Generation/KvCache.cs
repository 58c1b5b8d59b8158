using TorchSharp;
using static TorchSharp.torch;

namespace Service.Inference.Generation;

/// <summary>
/// The keys and values one request has computed so far, per layer. It belongs to the request, never
/// to the shared module: the model writes into it during a forward and reads it back. Buffers are
/// allocated once at full capacity (prompt + max new tokens), so a decode step copies one position
/// instead of concatenating the whole history; they live outside every dispose scope until
/// <see cref="Dispose"/>. A model whose positions depend on the prompt (ChatGLM) derives from it
/// to keep that per-request state here too.
/// </summary>
public class KvCache(int layers, int capacity) : IDisposable
{
    readonly Tensor?[] _keys = new Tensor?[layers];
    readonly Tensor?[] _values = new Tensor?[layers];

    /// <summary>Positions already cached; the next token's position.</summary>
    public int Length { get; private set; }
    public int Capacity => capacity;

    /// <summary>
    /// Stores a step's keys and values [B, kvh, t, hs] of one layer at positions Length..Length+t-1 and
    /// returns views of everything cached for that layer [B, kvh, Length + t, hs].
    /// </summary>
    public (Tensor Keys, Tensor Values) Append(int layer, Tensor keys, Tensor values)
    {
        long t = keys.shape[2];
        if (Length + t > capacity)
            throw new InvalidOperationException($"The KV cache holds {capacity} positions; {Length} are used and {t} more were written.");
        var k = _keys[layer] ??= Allocate(keys);
        var v = _values[layer] ??= Allocate(values);
        k.narrow(2, Length, t).copy_(keys);
        v.narrow(2, Length, t).copy_(values);
        return (k.narrow(2, 0, Length + t), v.narrow(2, 0, Length + t));
    }

    /// <summary>
    /// One layer's whole buffers [1, kvh, capacity, hs], allocated on first use, for a decode step that writes
    /// position <see cref="Length"/> in place (and then calls <see cref="Advance"/>) instead of through <see cref="Append"/>.
    /// </summary>
    public (Tensor Keys, Tensor Values) Buffers(int layer, long kvHeads, long headDim, ScalarType dtype, Device device) =>
        (_keys[layer] ??= Allocate(1, kvHeads, headDim, dtype, device), _values[layer] ??= Allocate(1, kvHeads, headDim, dtype, device));

    /// <summary>Called once per forward, after every layer appended its t positions.</summary>
    public void Advance(int t) => Length += t;

    /// <summary>
    /// Fills this empty cache with positions [0, <paramref name="length"/>) of <paramref name="source"/>, computed for
    /// the same tokens (prefix caching, and the choices of one prompt). Only models whose cached positions depend on
    /// nothing after them (<see cref="Models.ICausalLanguageModel.CanChunkPrefill"/>) may continue from such a copy.
    /// </summary>
    public void CopyPrefixFrom(KvCache source, int length)
    {
        if (Length != 0) throw new InvalidOperationException("Only an empty cache takes a copied prefix.");
        if (length > capacity || length > source.Length)
            throw new ArgumentOutOfRangeException(nameof(length), $"{length} positions asked; the source holds {source.Length} and this cache {capacity}.");
        for (int layer = 0; layer < _keys.Length; layer++)
        {
            if (source._keys[layer] is not { } keys || source._values[layer] is not { } values) continue;
            (_keys[layer] ??= Allocate(keys)).narrow(2, 0, length).copy_(keys.narrow(2, 0, length));
            (_values[layer] ??= Allocate(values)).narrow(2, 0, length).copy_(values.narrow(2, 0, length));
        }
        Length = length;
    }

    Tensor Allocate(Tensor like) => Allocate(like.shape[0], like.shape[1], like.shape[3], like.dtype, like.device);

    Tensor Allocate(long batch, long heads, long headDim, ScalarType dtype, Device device) =>
        // Uninitialised: only positions below Length are ever read.
        torch.empty([batch, heads, capacity, headDim], dtype, device).DetachFromDisposeScope();

    public void Dispose()
    {
        foreach (var t in _keys.Concat(_values)) t?.Dispose();
        Array.Clear(_keys);
        Array.Clear(_values);
    }
}
