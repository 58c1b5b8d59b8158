using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Service.Inference.Models.Decode;

/// <summary>
/// y[r, o] = bias[o] + scale[o] * sum_k w[o, k] x[r, k] for a row-major weight [out, in] and a few
/// activation rows [rows, in] (decode steps): AVX2 and FMA over 8 floats, four output rows per pass
/// so each activation load serves four weight streams, two activation rows at a time (8 accumulators,
/// 4 weight and 2 activation registers of the 16), the same four weight rows re-read from L1/L2 for
/// the next two activation rows rather than from memory. The weight is float32, or int8 with a
/// float32 scale per output row, widened to float32 in registers (8 bytes at a time).
/// </summary>
public static unsafe class MatVecKernel
{
    public static bool Supported => Avx2.IsSupported && Fma.IsSupported;

    /// <summary>Output rows [first, end) of every activation row; weight is float* or sbyte* as <paramref name="int8"/> says.</summary>
    public static void Run(void* weight, bool int8, float* scale, float* x, float* bias, float* y, int rows, int inFeatures, int outFeatures, int first, int end)
    {
        int o = first;
        for (; o + 4 <= end; o += 4)
        {
            int r = 0;
            for (; r + 2 <= rows; r += 2)
            {
                float* xa = x + (long)r * inFeatures;
                var (sa, sb) = int8
                    ? FourRowsInt8((sbyte*)weight + (long)o * inFeatures, xa, xa + inFeatures, inFeatures)
                    : FourRowsFloat((float*)weight + (long)o * inFeatures, xa, xa + inFeatures, inFeatures);
                Store(sa, scale, bias, y + (long)r * outFeatures, o);
                Store(sb, scale, bias, y + (long)(r + 1) * outFeatures, o);
            }
            if (r < rows) // one activation row left (every batch-1 step): half the multiplies of a pair
            {
                float* xa = x + (long)r * inFeatures;
                var sa = int8
                    ? FourRowsInt8((sbyte*)weight + (long)o * inFeatures, xa, inFeatures)
                    : FourRowsFloat((float*)weight + (long)o * inFeatures, xa, inFeatures);
                Store(sa, scale, bias, y + (long)r * outFeatures, o);
            }
        }
        for (; o < end; o++)
            for (int r = 0; r < rows; r++)
            {
                float* xr = x + (long)r * inFeatures;
                float sum = int8 ? DotInt8((sbyte*)weight + (long)o * inFeatures, xr, inFeatures) : DotFloat((float*)weight + (long)o * inFeatures, xr, inFeatures);
                y[(long)r * outFeatures + o] = (scale is null ? sum : sum * scale[o]) + (bias is null ? 0f : bias[o]);
            }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Store(Vector128<float> sums, float* scale, float* bias, float* yRow, int o)
    {
        if (scale is not null) sums = Sse.Multiply(sums, Sse.LoadVector128(scale + o));
        if (bias is not null) sums = Sse.Add(sums, Sse.LoadVector128(bias + o));
        Sse.Store(yRow + o, sums);
    }

    /// <summary>Four dot products w[0..3] . x for a single activation row.</summary>
    static Vector128<float> FourRowsFloat(float* w, float* x, int n)
    {
        float* w1 = w + n, w2 = w1 + n, w3 = w2 + n;
        Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
        int k = 0;
        for (; k + 16 <= n; k += 16)
        {
            Prefetch(w, w1, w2, w3, k);
            var v = Avx.LoadVector256(x + k);
            a0 = Fma.MultiplyAdd(Avx.LoadVector256(w + k), v, a0);
            a1 = Fma.MultiplyAdd(Avx.LoadVector256(w1 + k), v, a1);
            a2 = Fma.MultiplyAdd(Avx.LoadVector256(w2 + k), v, a2);
            a3 = Fma.MultiplyAdd(Avx.LoadVector256(w3 + k), v, a3);
            v = Avx.LoadVector256(x + k + 8);
            a0 = Fma.MultiplyAdd(Avx.LoadVector256(w + k + 8), v, a0);
            a1 = Fma.MultiplyAdd(Avx.LoadVector256(w1 + k + 8), v, a1);
            a2 = Fma.MultiplyAdd(Avx.LoadVector256(w2 + k + 8), v, a2);
            a3 = Fma.MultiplyAdd(Avx.LoadVector256(w3 + k + 8), v, a3);
        }
        for (; k + 8 <= n; k += 8)
        {
            var v = Avx.LoadVector256(x + k);
            a0 = Fma.MultiplyAdd(Avx.LoadVector256(w + k), v, a0);
            a1 = Fma.MultiplyAdd(Avx.LoadVector256(w1 + k), v, a1);
            a2 = Fma.MultiplyAdd(Avx.LoadVector256(w2 + k), v, a2);
            a3 = Fma.MultiplyAdd(Avx.LoadVector256(w3 + k), v, a3);
        }
        var s = Sum4(a0, a1, a2, a3);
        return k < n ? Sse.Add(s, Vector128.Create(TailFloat(w, x, k, n), TailFloat(w1, x, k, n), TailFloat(w2, x, k, n), TailFloat(w3, x, k, n))) : s;
    }

    static Vector128<float> FourRowsInt8(sbyte* w, float* x, int n)
    {
        sbyte* w1 = w + n, w2 = w1 + n, w3 = w2 + n;
        Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
        int k = 0;
        for (; k + 8 <= n; k += 8)
        {
            var v = Avx.LoadVector256(x + k);
            a0 = Fma.MultiplyAdd(Widen(w + k), v, a0);
            a1 = Fma.MultiplyAdd(Widen(w1 + k), v, a1);
            a2 = Fma.MultiplyAdd(Widen(w2 + k), v, a2);
            a3 = Fma.MultiplyAdd(Widen(w3 + k), v, a3);
        }
        var s = Sum4(a0, a1, a2, a3);
        return k < n ? Sse.Add(s, Vector128.Create(TailInt8(w, x, k, n), TailInt8(w1, x, k, n), TailInt8(w2, x, k, n), TailInt8(w3, x, k, n))) : s;
    }

    /// <summary>Four dot products w[0..3] . xa and w[0..3] . xb, w rows of length n consecutive.</summary>
    static (Vector128<float>, Vector128<float>) FourRowsFloat(float* w, float* xa, float* xb, int n)
    {
        float* w1 = w + n, w2 = w1 + n, w3 = w2 + n;
        Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default, b0 = default, b1 = default, b2 = default, b3 = default;
        int k = 0;
        for (; k + 8 <= n; k += 8)
        {
            if ((k & 15) == 0) Prefetch(w, w1, w2, w3, k);
            var va = Avx.LoadVector256(xa + k);
            var vb = Avx.LoadVector256(xb + k);
            var v0 = Avx.LoadVector256(w + k);
            a0 = Fma.MultiplyAdd(v0, va, a0);
            b0 = Fma.MultiplyAdd(v0, vb, b0);
            var v1 = Avx.LoadVector256(w1 + k);
            a1 = Fma.MultiplyAdd(v1, va, a1);
            b1 = Fma.MultiplyAdd(v1, vb, b1);
            var v2 = Avx.LoadVector256(w2 + k);
            a2 = Fma.MultiplyAdd(v2, va, a2);
            b2 = Fma.MultiplyAdd(v2, vb, b2);
            var v3 = Avx.LoadVector256(w3 + k);
            a3 = Fma.MultiplyAdd(v3, va, a3);
            b3 = Fma.MultiplyAdd(v3, vb, b3);
        }
        var sa = Sum4(a0, a1, a2, a3);
        var sb = Sum4(b0, b1, b2, b3);
        if (k < n)
        {
            sa = Sse.Add(sa, Vector128.Create(TailFloat(w, xa, k, n), TailFloat(w1, xa, k, n), TailFloat(w2, xa, k, n), TailFloat(w3, xa, k, n)));
            sb = Sse.Add(sb, Vector128.Create(TailFloat(w, xb, k, n), TailFloat(w1, xb, k, n), TailFloat(w2, xb, k, n), TailFloat(w3, xb, k, n)));
        }
        return (sa, sb);
    }

    static (Vector128<float>, Vector128<float>) FourRowsInt8(sbyte* w, float* xa, float* xb, int n)
    {
        sbyte* w1 = w + n, w2 = w1 + n, w3 = w2 + n;
        Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default, b0 = default, b1 = default, b2 = default, b3 = default;
        int k = 0;
        for (; k + 8 <= n; k += 8)
        {
            var va = Avx.LoadVector256(xa + k);
            var vb = Avx.LoadVector256(xb + k);
            var v0 = Widen(w + k);
            a0 = Fma.MultiplyAdd(v0, va, a0);
            b0 = Fma.MultiplyAdd(v0, vb, b0);
            var v1 = Widen(w1 + k);
            a1 = Fma.MultiplyAdd(v1, va, a1);
            b1 = Fma.MultiplyAdd(v1, vb, b1);
            var v2 = Widen(w2 + k);
            a2 = Fma.MultiplyAdd(v2, va, a2);
            b2 = Fma.MultiplyAdd(v2, vb, b2);
            var v3 = Widen(w3 + k);
            a3 = Fma.MultiplyAdd(v3, va, a3);
            b3 = Fma.MultiplyAdd(v3, vb, b3);
        }
        var sa = Sum4(a0, a1, a2, a3);
        var sb = Sum4(b0, b1, b2, b3);
        if (k < n)
        {
            sa = Sse.Add(sa, Vector128.Create(TailInt8(w, xa, k, n), TailInt8(w1, xa, k, n), TailInt8(w2, xa, k, n), TailInt8(w3, xa, k, n)));
            sb = Sse.Add(sb, Vector128.Create(TailInt8(w, xb, k, n), TailInt8(w1, xb, k, n), TailInt8(w2, xb, k, n), TailInt8(w3, xb, k, n)));
        }
        return (sa, sb);
    }

    /// <summary>
    /// Asks for each row's cache line 64 floats ahead. The hardware prefetcher alone kept this loop at the
    /// speed of a plain AVX read loop, below MKL's matrix-vector product; measured here (interleaved, shared
    /// machine) 32-64 floats ahead gained 10-35 %, 128-256 less. Past a row's end it fetches the next row's start, which comes next.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Prefetch(float* w0, float* w1, float* w2, float* w3, int k)
    {
        const int ahead = 64;
        Sse.Prefetch0(w0 + k + ahead);
        Sse.Prefetch0(w1 + k + ahead);
        Sse.Prefetch0(w2 + k + ahead);
        Sse.Prefetch0(w3 + k + ahead);
    }

    /// <summary>8 signed bytes as 8 floats (vpmovsxbd + vcvtdq2ps).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<float> Widen(sbyte* p) => Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(p));

    /// <summary>The four horizontal sums of four accumulators, as one vector [s0, s1, s2, s3].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector128<float> Sum4(Vector256<float> s0, Vector256<float> s1, Vector256<float> s2, Vector256<float> s3)
    {
        var h = Avx.HorizontalAdd(Avx.HorizontalAdd(s0, s1), Avx.HorizontalAdd(s2, s3)); // per 128-bit lane: partial sums of s0..s3
        return Sse.Add(h.GetLower(), h.GetUpper());
    }

    static float TailFloat(float* w, float* x, int k, int n)
    {
        float s = 0;
        for (; k < n; k++) s += w[k] * x[k];
        return s;
    }

    static float TailInt8(sbyte* w, float* x, int k, int n)
    {
        float s = 0;
        for (; k < n; k++) s += w[k] * x[k];
        return s;
    }

    static float DotFloat(float* w, float* x, int n)
    {
        var acc = Vector256<float>.Zero;
        int k = 0;
        for (; k + 8 <= n; k += 8) acc = Fma.MultiplyAdd(Avx.LoadVector256(w + k), Avx.LoadVector256(x + k), acc);
        return Vector256.Sum(acc) + TailFloat(w, x, k, n);
    }

    static float DotInt8(sbyte* w, float* x, int n)
    {
        var acc = Vector256<float>.Zero;
        int k = 0;
        for (; k + 8 <= n; k += 8) acc = Fma.MultiplyAdd(Widen(w + k), Avx.LoadVector256(x + k), acc);
        return Vector256.Sum(acc) + TailInt8(w, x, k, n);
    }
}
