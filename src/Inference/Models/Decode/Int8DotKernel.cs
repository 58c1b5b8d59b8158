using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Service.Inference.Models.Decode;

/// <summary>
/// y[r, o] = bias[o] + scale[o] * (sum_b d[r, b] * sum_{k in b} w[o, k] q[r, k] + sum_{tail} w[o, k] x[r, k])
/// for int8 weights with a float32 scale per output row (<see cref="Int8Weights"/>) and a few activation rows
/// (decode steps), multiplied as integers: each activation row is first quantised in blocks of
/// <see cref="Block"/> along the input (<see cref="Quantize"/>, llama.cpp's Q8_0 activations), then per block
/// |w| (u8) x sign(w) q (s8) in vpmaddubsw, pairs summed by vpmaddwd, the block's int32 sums converted once and
/// added with the block scale by FMA. Why: widening 8 weights at a time to float32 (<see cref="MatVecKernel"/>)
/// keeps a 2-core AVX2 machine compute-bound at half llama.cpp's Q8_0 speed; this does 32 multiplies in the
/// instructions that did 8. No saturation: |w|, |q| &lt;= 127, so a pair sums to at most 32258 &lt; 32767, a block
/// to 516128, exact in float32. The last in % 32 inputs (odd test shapes; Llama and Qwen2 widths are
/// multiples of 32) are multiplied exactly in float32, unquantised. Four output rows per pass share each
/// activation load, two activation rows at a time; each activation row is quantised on its own, so a row's
/// output never depends on the others in its batch. Needs AVX2 and FMA, as <see cref="MatVecKernel"/>.
/// </summary>
public static unsafe class Int8DotKernel
{
    /// <summary>Activation inputs per quantisation block (one float32 scale each), as llama.cpp's Q8_0.</summary>
    public const int Block = 32;

    /// <summary>
    /// Blocks of one activation row, for every full block b: amax = max |x[32b .. 32b+31]|, d[b] = amax / 127
    /// and q[k] = x[k] * (127 / amax) rounded to nearest, ties to even (all in float32; a block of zeros gets
    /// d = 0 and q = 0). q holds in / 32 * 32 values, d in / 32.
    /// </summary>
    public static void Quantize(float* x, int inFeatures, sbyte* q, float* d)
    {
        var noSign = Vector256.Create(0x7FFFFFFF).AsSingle();
        var order = Vector256.Create(0, 4, 1, 5, 2, 6, 3, 7); // undoes the per-lane interleaving of the two packs
        int blocks = inFeatures / Block;
        for (int b = 0; b < blocks; b++, x += Block, q += Block)
        {
            var v0 = Avx.LoadVector256(x);
            var v1 = Avx.LoadVector256(x + 8);
            var v2 = Avx.LoadVector256(x + 16);
            var v3 = Avx.LoadVector256(x + 24);
            var m = Avx.Max(Avx.Max(Avx.And(v0, noSign), Avx.And(v1, noSign)), Avx.Max(Avx.And(v2, noSign), Avx.And(v3, noSign)));
            var m4 = Sse.Max(m.GetLower(), m.GetUpper());
            m4 = Sse.Max(m4, Sse.MoveHighToLow(m4, m4));
            float amax = MathF.Max(m4.ToScalar(), m4.GetElement(1));
            d[b] = amax / 127f;
            var inverse = Vector256.Create(amax > 0 ? 127f / amax : 0f);
            // vcvtps2dq rounds to nearest even (the default rounding mode .NET runs under).
            var i0 = Avx.ConvertToVector256Int32(Avx.Multiply(v0, inverse));
            var i1 = Avx.ConvertToVector256Int32(Avx.Multiply(v1, inverse));
            var i2 = Avx.ConvertToVector256Int32(Avx.Multiply(v2, inverse));
            var i3 = Avx.ConvertToVector256Int32(Avx.Multiply(v3, inverse));
            var packed = Avx2.PackSignedSaturate(Avx2.PackSignedSaturate(i0, i1), Avx2.PackSignedSaturate(i2, i3));
            Avx.Store(q, Avx2.PermuteVar8x32(packed.AsInt32(), order).AsSByte());
        }
    }

    /// <summary>
    /// Output rows [first, end) of every activation row. q and d are the rows' <see cref="Quantize"/>d blocks,
    /// rows apart by in / 32 * 32 values and in / 32 scales; x is the float32 rows themselves (for the tail).
    /// </summary>
    public static void Run(sbyte* weight, float* scale, sbyte* q, float* d, float* x, float* bias, float* y,
        int rows, int inFeatures, int outFeatures, int first, int end)
    {
        int blocks = inFeatures / Block, quantised = blocks * Block;
        int o = first;
        for (; o + 4 <= end; o += 4)
        {
            sbyte* w = weight + (long)o * inFeatures;
            int r = 0;
            for (; r + 2 <= rows; r += 2)
            {
                var (sa, sb) = FourRows(w, inFeatures, q + (long)r * quantised, d + (long)r * blocks, q + (long)(r + 1) * quantised, d + (long)(r + 1) * blocks, blocks);
                Store(sa, Tails(w, inFeatures, x + (long)r * inFeatures, quantised), scale, bias, y + (long)r * outFeatures, o);
                Store(sb, Tails(w, inFeatures, x + (long)(r + 1) * inFeatures, quantised), scale, bias, y + (long)(r + 1) * outFeatures, o);
            }
            if (r < rows) // one activation row left (every batch-1 step)
                Store(FourRows(w, inFeatures, q + (long)r * quantised, d + (long)r * blocks, blocks),
                    Tails(w, inFeatures, x + (long)r * inFeatures, quantised), scale, bias, y + (long)r * outFeatures, o);
        }
        for (; o < end; o++)
        {
            sbyte* w = weight + (long)o * inFeatures;
            for (int r = 0; r < rows; r++)
            {
                float* xr = x + (long)r * inFeatures;
                var sum = OneRow(w, q + (long)r * quantised, d + (long)r * blocks, blocks) + Tail(w, xr, quantised, inFeatures);
                y[(long)r * outFeatures + o] = sum * scale[o] + (bias is null ? 0f : bias[o]);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Store(Vector128<float> sums, Vector128<float> tails, float* scale, float* bias, float* yRow, int o)
    {
        var s = Sse.Multiply(Sse.Add(sums, tails), Sse.LoadVector128(scale + o));
        if (bias is not null) s = Sse.Add(s, Sse.LoadVector128(bias + o));
        Sse.Store(yRow + o, s);
    }

    /// <summary>The 8 int32 pair sums of one block, as floats: sum of |w| * (sign(w) q) = w q, 4 inputs per lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<float> BlockDot(Vector256<byte> absW, Vector256<sbyte> w, Vector256<sbyte> q, Vector256<short> ones) =>
        Avx.ConvertToVector256Single(Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(absW, Avx2.Sign(q, w)), ones));

    /// <summary>Four weight rows (n apart) against one activation row's blocks.</summary>
    static Vector128<float> FourRows(sbyte* w, int n, sbyte* q, float* d, int blocks)
    {
        sbyte* w1 = w + n, w2 = w1 + n, w3 = w2 + n;
        var ones = Vector256.Create((short)1);
        Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
        for (int b = 0, k = 0; b < blocks; b++, k += Block)
        {
            if ((k & 63) == 0) Prefetch(w, w1, w2, w3, k, n);
            var x = Avx.LoadVector256(q + k);
            var s = Vector256.Create(d[b]);
            var v0 = Avx.LoadVector256(w + k);
            a0 = Fma.MultiplyAdd(BlockDot(Avx2.Abs(v0), v0, x, ones), s, a0);
            var v1 = Avx.LoadVector256(w1 + k);
            a1 = Fma.MultiplyAdd(BlockDot(Avx2.Abs(v1), v1, x, ones), s, a1);
            var v2 = Avx.LoadVector256(w2 + k);
            a2 = Fma.MultiplyAdd(BlockDot(Avx2.Abs(v2), v2, x, ones), s, a2);
            var v3 = Avx.LoadVector256(w3 + k);
            a3 = Fma.MultiplyAdd(BlockDot(Avx2.Abs(v3), v3, x, ones), s, a3);
        }
        return HorizontalSums(a0, a1, a2, a3);
    }

    /// <summary>Four weight rows against two activation rows' blocks: each weight load and |w| serves both.</summary>
    static (Vector128<float>, Vector128<float>) FourRows(sbyte* w, int n, sbyte* qa, float* da, sbyte* qb, float* db, int blocks)
    {
        sbyte* w1 = w + n, w2 = w1 + n, w3 = w2 + n;
        var ones = Vector256.Create((short)1);
        Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default, b0 = default, b1 = default, b2 = default, b3 = default;
        for (int b = 0, k = 0; b < blocks; b++, k += Block)
        {
            if ((k & 63) == 0) Prefetch(w, w1, w2, w3, k, n);
            var xa = Avx.LoadVector256(qa + k);
            var xb = Avx.LoadVector256(qb + k);
            var sa = Vector256.Create(da[b]);
            var sb = Vector256.Create(db[b]);
            var v = Avx.LoadVector256(w + k);
            var abs = Avx2.Abs(v);
            a0 = Fma.MultiplyAdd(BlockDot(abs, v, xa, ones), sa, a0);
            b0 = Fma.MultiplyAdd(BlockDot(abs, v, xb, ones), sb, b0);
            v = Avx.LoadVector256(w1 + k);
            abs = Avx2.Abs(v);
            a1 = Fma.MultiplyAdd(BlockDot(abs, v, xa, ones), sa, a1);
            b1 = Fma.MultiplyAdd(BlockDot(abs, v, xb, ones), sb, b1);
            v = Avx.LoadVector256(w2 + k);
            abs = Avx2.Abs(v);
            a2 = Fma.MultiplyAdd(BlockDot(abs, v, xa, ones), sa, a2);
            b2 = Fma.MultiplyAdd(BlockDot(abs, v, xb, ones), sb, b2);
            v = Avx.LoadVector256(w3 + k);
            abs = Avx2.Abs(v);
            a3 = Fma.MultiplyAdd(BlockDot(abs, v, xa, ones), sa, a3);
            b3 = Fma.MultiplyAdd(BlockDot(abs, v, xb, ones), sb, b3);
        }
        return (HorizontalSums(a0, a1, a2, a3), HorizontalSums(b0, b1, b2, b3));
    }

    /// <summary>
    /// Asks for each weight row's cache line 128 bytes ahead, once per line. Measured here (interleaved, shared machine):
    /// 12-18 % on the [896 -> 151936] head, which streams from memory; within noise on the MLP shapes; 512 bytes ahead gained nothing.
    /// Near a row's end it asks for the same row of the next pass (four rows on), as <see cref="MatVecKernel"/> does.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Prefetch(sbyte* w0, sbyte* w1, sbyte* w2, sbyte* w3, int k, int n)
    {
        long at = k + 128;
        if (at >= n) at += 3L * n;
        Sse.Prefetch0(w0 + at);
        Sse.Prefetch0(w1 + at);
        Sse.Prefetch0(w2 + at);
        Sse.Prefetch0(w3 + at);
    }

    static float OneRow(sbyte* w, sbyte* q, float* d, int blocks)
    {
        var ones = Vector256.Create((short)1);
        var acc = Vector256<float>.Zero;
        for (int b = 0, k = 0; b < blocks; b++, k += Block)
        {
            var v = Avx.LoadVector256(w + k);
            acc = Fma.MultiplyAdd(BlockDot(Avx2.Abs(v), v, Avx.LoadVector256(q + k), ones), Vector256.Create(d[b]), acc);
        }
        return Vector256.Sum(acc);
    }

    /// <summary>[s0, s1, s2, s3]: the horizontal sum of each accumulator.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector128<float> HorizontalSums(Vector256<float> s0, Vector256<float> s1, Vector256<float> s2, Vector256<float> s3)
    {
        var pairs = Avx.HorizontalAdd(Avx.HorizontalAdd(s0, s1), Avx.HorizontalAdd(s2, s3));
        return Sse.Add(pairs.GetLower(), pairs.GetUpper());
    }

    /// <summary>The unquantised tails of four weight rows (n apart) against one activation row; zeros when in is a multiple of 32.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector128<float> Tails(sbyte* w, int n, float* x, int from) =>
        from == n ? Vector128<float>.Zero
            : Vector128.Create(Tail(w, x, from, n), Tail(w + n, x, from, n), Tail(w + 2L * n, x, from, n), Tail(w + 3L * n, x, from, n));

    static float Tail(sbyte* w, float* x, int k, int n)
    {
        float s = 0;
        for (; k < n; k++) s += w[k] * x[k];
        return s;
    }
}

/// <summary>
/// A thread's buffers for the quantised activation rows of one product (the caller's thread quantises, the team
/// reads them until the product returns), pinned and grown as needed so a decode step allocates nothing.
/// </summary>
public sealed unsafe class QuantizedActivations
{
    [ThreadStatic] static QuantizedActivations? _current;

    sbyte[] _values = [];
    float[] _scales = [];

    public sbyte* Values { get; private set; }
    public float* Scales { get; private set; }

    /// <summary>This thread's buffers holding the quantised blocks of x [rows, in] (see <see cref="Int8DotKernel.Quantize"/>).</summary>
    public static QuantizedActivations Of(float* x, int rows, int inFeatures)
    {
        var buffers = _current ??= new QuantizedActivations();
        int blocks = inFeatures / Int8DotKernel.Block;
        buffers.Reserve(rows * blocks * Int8DotKernel.Block, rows * blocks);
        for (int r = 0; r < rows; r++)
            Int8DotKernel.Quantize(x + (long)r * inFeatures, inFeatures, buffers.Values + (long)r * blocks * Int8DotKernel.Block, buffers.Scales + (long)r * blocks);
        return buffers;
    }

    void Reserve(int values, int scales)
    {
        if (_values.Length < values)
        {
            _values = GC.AllocateUninitializedArray<sbyte>(values, pinned: true);
            Values = (sbyte*)Unsafe.AsPointer(ref _values[0]);
        }
        if (_scales.Length < scales)
        {
            _scales = GC.AllocateUninitializedArray<float>(scales, pinned: true);
            Scales = (float*)Unsafe.AsPointer(ref _scales[0]);
        }
    }
}
