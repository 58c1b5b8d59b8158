using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Service.Inference.Models.Decode;

/// <summary>
/// y[r, o] = bias[o] + scale[o] * sum_k w[o, k] x[r, k] for a row-major weight [out, in] and a few
/// activation rows [rows, in] (decode steps): AVX2 and FMA over 8 floats, four output rows per pass
/// so each activation load serves four weight streams, two activation rows at a time (8 accumulators,
/// 4 weight and 2 activation registers of the 16), the same four weight rows re-read from L1/L2 for
/// the next two activation rows rather than from memory. The weight is float32, int8 with a float32
/// scale per output row, bfloat16 or float16, widened to float32 in registers (16 weights at a time,
/// see <see cref="IWeightLoader{T}"/>); the activations and the sums are float32.
/// </summary>
public static unsafe class MatVecKernel
{
    public static bool Supported => Avx2.IsSupported && Fma.IsSupported;

    /// <summary>
    /// Output rows [first, end) of every activation row; <paramref name="weight"/> holds elements of <paramref name="type"/>,
    /// <paramref name="scale"/> only for int8; x as <see cref="Arrange"/> gave it for this type.
    /// </summary>
    public static void Run(void* weight, WeightType type, float* scale, float* x, float* bias, float* y, int rows, int inFeatures, int outFeatures, int first, int end)
    {
        switch (type)
        {
            case WeightType.Float32: Run<Float32Loader, float>((float*)weight, scale, x, bias, y, rows, inFeatures, outFeatures, first, end); break;
            case WeightType.Int8: Run<Int8Loader, sbyte>((sbyte*)weight, scale, x, bias, y, rows, inFeatures, outFeatures, first, end); break;
            case WeightType.BFloat16: Run<BFloat16Loader, ushort>((ushort*)weight, scale, x, bias, y, rows, inFeatures, outFeatures, first, end); break;
            case WeightType.Float16: Run<Float16Loader, ushort>((ushort*)weight, scale, x, bias, y, rows, inFeatures, outFeatures, first, end); break;
            default: throw new ArgumentOutOfRangeException(nameof(type), type, null);
        }
    }

    /// <summary>
    /// The activation rows x [rows, n] as <see cref="Run"/> reads them for this weight type, once per product (before the
    /// team splits it): x itself for float32 and int8; for bfloat16 and float16 a copy in this thread's buffer with each
    /// whole block of 16 de-interleaved (even elements, then odd ones, as <see cref="IWeightLoader{T}.Load16"/> gives the
    /// weights), float16's times its <see cref="IWeightLoader{T}.ActivationScale"/>.
    /// </summary>
    public static float* Arrange(WeightType type, float* x, int rows, int n) => type switch
    {
        WeightType.BFloat16 => ArrangedActivations.Of(x, rows, n, BFloat16Loader.ActivationScale),
        WeightType.Float16 => ArrangedActivations.Of(x, rows, n, Float16Loader.ActivationScale),
        _ => x,
    };

    /// <summary>One copy of the loops per weight type: the JIT compiles each instantiation over a struct loader separately, with its widening inlined.</summary>
    static void Run<TLoad, T>(T* weight, float* scale, float* x, float* bias, float* y, int rows, int inFeatures, int outFeatures, int first, int end)
        where TLoad : struct, IWeightLoader<T> where T : unmanaged
    {
        int o = first;
        for (; o + 4 <= end; o += 4)
        {
            T* w = weight + (long)o * inFeatures;
            // Several pairs of activation rows: the first pair streams these four weight rows from memory, the later
            // ones re-read them from cache and meanwhile each ask for a share of the next four rows (into L2), so
            // memory keeps streaming while they compute; without it a batch-8 step's products took 1.3x as long.
            int passes = rows / 2;
            long share = passes > 1 ? 4L * inFeatures * sizeof(T) / (passes - 1) : 0, steps = Math.Max(1, inFeatures / 8);
            int r = 0;
            for (; r + 2 <= rows; r += 2)
            {
                float* xa = x + (long)r * inFeatures;
                byte* ahead = r == 0 ? null : (byte*)(w + 4L * inFeatures) + (r / 2 - 1) * share;
                var (sa, sb) = FourRows<TLoad, T>(w, xa, xa + inFeatures, inFeatures, ahead, (share + steps - 1) / steps);
                Store<TLoad, T>(sa, scale, bias, y + (long)r * outFeatures, o);
                Store<TLoad, T>(sb, scale, bias, y + (long)(r + 1) * outFeatures, o);
            }
            if (r < rows) // one activation row left (every batch-1 step): half the multiplies of a pair
                Store<TLoad, T>(FourRows<TLoad, T>(w, x + (long)r * inFeatures, inFeatures), scale, bias, y + (long)r * outFeatures, o);
        }
        for (; o < end; o++)
            for (int r = 0; r < rows; r++)
            {
                float sum = Dot<TLoad, T>(weight + (long)o * inFeatures, x + (long)r * inFeatures, inFeatures) * SumScale<TLoad, T>();
                y[(long)r * outFeatures + o] = (scale is null ? sum : sum * scale[o]) + (bias is null ? 0f : bias[o]);
            }
    }

    /// <summary>What the sums are multiplied by to undo the weight and activation scales: 2^12 for float16, else 1 (exact).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static float SumScale<TLoad, T>() where TLoad : struct, IWeightLoader<T> where T : unmanaged => 1f / (TLoad.WeightScale * TLoad.ActivationScale);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Store<TLoad, T>(Vector128<float> sums, float* scale, float* bias, float* yRow, int o) where TLoad : struct, IWeightLoader<T> where T : unmanaged
    {
        if (SumScale<TLoad, T>() != 1f) sums = Sse.Multiply(sums, Vector128.Create(SumScale<TLoad, T>()));
        if (scale is not null) sums = Sse.Multiply(sums, Sse.LoadVector128(scale + o));
        if (bias is not null) sums = Sse.Add(sums, Sse.LoadVector128(bias + o));
        Sse.Store(yRow + o, sums);
    }

    /// <summary>Four dot products w[0..3] . x for a single activation row, w rows of length n consecutive.</summary>
    static Vector128<float> FourRows<TLoad, T>(T* w, float* x, int n) where TLoad : struct, IWeightLoader<T> where T : unmanaged
    {
        T* w1 = w + n, w2 = w1 + n, w3 = w2 + n;
        Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
        int k = 0;
        for (; k + 16 <= n; k += 16)
        {
            Prefetch<TLoad, T>(w, w1, w2, w3, k, n);
            var v = Avx.LoadVector256(x + k);
            var u = Avx.LoadVector256(x + k + 8);
            var (f0, s0) = TLoad.Load16(w + k);
            a0 = Fma.MultiplyAdd(s0, u, Fma.MultiplyAdd(f0, v, a0));
            var (f1, s1) = TLoad.Load16(w1 + k);
            a1 = Fma.MultiplyAdd(s1, u, Fma.MultiplyAdd(f1, v, a1));
            var (f2, s2) = TLoad.Load16(w2 + k);
            a2 = Fma.MultiplyAdd(s2, u, Fma.MultiplyAdd(f2, v, a2));
            var (f3, s3) = TLoad.Load16(w3 + k);
            a3 = Fma.MultiplyAdd(s3, u, Fma.MultiplyAdd(f3, v, a3));
        }
        var s = Sum4(a0, a1, a2, a3);
        return k < n ? Sse.Add(s, Vector128.Create(Tail<TLoad, T>(w, x, k, n), Tail<TLoad, T>(w1, x, k, n), Tail<TLoad, T>(w2, x, k, n), Tail<TLoad, T>(w3, x, k, n))) : s;
    }

    /// <summary>
    /// Four dot products w[0..3] . xa and w[0..3] . xb, w rows of length n consecutive. Without <paramref name="ahead"/>
    /// the rows' own lines are prefetched; with it, one line every <paramref name="stride"/> bytes from there per 8 weights.
    /// </summary>
    static (Vector128<float>, Vector128<float>) FourRows<TLoad, T>(T* w, float* xa, float* xb, int n, byte* ahead, long stride) where TLoad : struct, IWeightLoader<T> where T : unmanaged
    {
        T* w1 = w + n, w2 = w1 + n, w3 = w2 + n;
        Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default, b0 = default, b1 = default, b2 = default, b3 = default;
        int k = 0;
        // float32 and int8 go 8 weights at a time, each accumulator one FMA per step: in blocks of 16 (two dependent FMAs
        // per accumulator) the batch-8 float32 step took 220 ms instead of 177 (idle `--decode-profile`).
        if (!TLoad.Interleaved)
            for (; k + 8 <= n; k += 8)
            {
                if (ahead is null) { if ((k & 15) == 0) Prefetch<TLoad, T>(w, w1, w2, w3, k, n); }
                else Sse.Prefetch1(ahead + (k >> 3) * stride);
                var va = Avx.LoadVector256(xa + k);
                var vb = Avx.LoadVector256(xb + k);
                var v0 = TLoad.Load8(w + k);
                a0 = Fma.MultiplyAdd(v0, va, a0);
                b0 = Fma.MultiplyAdd(v0, vb, b0);
                var v1 = TLoad.Load8(w1 + k);
                a1 = Fma.MultiplyAdd(v1, va, a1);
                b1 = Fma.MultiplyAdd(v1, vb, b1);
                var v2 = TLoad.Load8(w2 + k);
                a2 = Fma.MultiplyAdd(v2, va, a2);
                b2 = Fma.MultiplyAdd(v2, vb, b2);
                var v3 = TLoad.Load8(w3 + k);
                a3 = Fma.MultiplyAdd(v3, va, a3);
                b3 = Fma.MultiplyAdd(v3, vb, b3);
            }
        for (; k + 16 <= n; k += 16)
        {
            if (ahead is null) Prefetch<TLoad, T>(w, w1, w2, w3, k, n);
            else { Sse.Prefetch1(ahead + (k >> 3) * stride); Sse.Prefetch1(ahead + ((k >> 3) + 1) * stride); }
            var va = Avx.LoadVector256(xa + k);
            var ua = Avx.LoadVector256(xa + k + 8);
            var vb = Avx.LoadVector256(xb + k);
            var ub = Avx.LoadVector256(xb + k + 8);
            var (f0, s0) = TLoad.Load16(w + k);
            a0 = Fma.MultiplyAdd(s0, ua, Fma.MultiplyAdd(f0, va, a0));
            b0 = Fma.MultiplyAdd(s0, ub, Fma.MultiplyAdd(f0, vb, b0));
            var (f1, s1) = TLoad.Load16(w1 + k);
            a1 = Fma.MultiplyAdd(s1, ua, Fma.MultiplyAdd(f1, va, a1));
            b1 = Fma.MultiplyAdd(s1, ub, Fma.MultiplyAdd(f1, vb, b1));
            var (f2, s2) = TLoad.Load16(w2 + k);
            a2 = Fma.MultiplyAdd(s2, ua, Fma.MultiplyAdd(f2, va, a2));
            b2 = Fma.MultiplyAdd(s2, ub, Fma.MultiplyAdd(f2, vb, b2));
            var (f3, s3) = TLoad.Load16(w3 + k);
            a3 = Fma.MultiplyAdd(s3, ua, Fma.MultiplyAdd(f3, va, a3));
            b3 = Fma.MultiplyAdd(s3, ub, Fma.MultiplyAdd(f3, vb, b3));
        }
        var sa = Sum4(a0, a1, a2, a3);
        var sb = Sum4(b0, b1, b2, b3);
        if (k < n)
        {
            sa = Sse.Add(sa, Vector128.Create(Tail<TLoad, T>(w, xa, k, n), Tail<TLoad, T>(w1, xa, k, n), Tail<TLoad, T>(w2, xa, k, n), Tail<TLoad, T>(w3, xa, k, n)));
            sb = Sse.Add(sb, Vector128.Create(Tail<TLoad, T>(w, xb, k, n), Tail<TLoad, T>(w1, xb, k, n), Tail<TLoad, T>(w2, xb, k, n), Tail<TLoad, T>(w3, xb, k, n)));
        }
        return (sa, sb);
    }

    /// <summary>
    /// Asks for each row's cache line <see cref="IWeightLoader{T}.PrefetchAhead"/> weights ahead, every 16 weights. The
    /// hardware prefetcher alone kept the float32 loop at the speed of a plain AVX read loop, below MKL's matrix-vector
    /// product; measured here (interleaved, shared machine) 32-64 floats ahead gained 10-35 %, 128-256 less. Near a
    /// row's end it fetches the start of the same row of the next pass (four rows on), which comes next for this row's
    /// stream: fetching past the end into the next row, already being read, left three of the next pass's four row
    /// starts cold (bfloat16 head, 1,792-byte rows: 14.6 against 17-18 GB/s). A loader with PrefetchAhead 0 (int8) skips it.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Prefetch<TLoad, T>(T* w0, T* w1, T* w2, T* w3, int k, int n) where TLoad : struct, IWeightLoader<T> where T : unmanaged
    {
        if (TLoad.PrefetchAhead == 0) return;
        long at = k + TLoad.PrefetchAhead;
        if (at >= n) at += 3L * n;
        Sse.Prefetch0(w0 + at);
        Sse.Prefetch0(w1 + at);
        Sse.Prefetch0(w2 + at);
        Sse.Prefetch0(w3 + at);
    }

    /// <summary>The four horizontal sums of four accumulators, as one vector [s0, s1, s2, s3].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector128<float> Sum4(Vector256<float> s0, Vector256<float> s1, Vector256<float> s2, Vector256<float> s3)
    {
        var h = Avx.HorizontalAdd(Avx.HorizontalAdd(s0, s1), Avx.HorizontalAdd(s2, s3)); // per 128-bit lane: partial sums of s0..s3
        return Sse.Add(h.GetLower(), h.GetUpper());
    }

    static float Tail<TLoad, T>(T* w, float* x, int k, int n) where TLoad : struct, IWeightLoader<T> where T : unmanaged
    {
        float s = 0;
        for (; k < n; k++) s += TLoad.Load1(w + k) * x[k];
        return s;
    }

    static float Dot<TLoad, T>(T* w, float* x, int n) where TLoad : struct, IWeightLoader<T> where T : unmanaged
    {
        var acc = Vector256<float>.Zero;
        int k = 0;
        for (; k + 16 <= n; k += 16)
        {
            var (f, s) = TLoad.Load16(w + k);
            acc = Fma.MultiplyAdd(s, Avx.LoadVector256(x + k + 8), Fma.MultiplyAdd(f, Avx.LoadVector256(x + k), acc));
        }
        return Vector256.Sum(acc) + Tail<TLoad, T>(w, x, k, n);
    }
}

/// <summary>The element type of a weight the kernel reads.</summary>
public enum WeightType { Float32, Int8, BFloat16, Float16 }
