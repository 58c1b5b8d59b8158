using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Service.Inference.Models.Decode;

/// <summary>
/// How <see cref="MatVecKernel"/> reads one weight type as float32: a struct per type, so each instantiation
/// of the kernel's loops is compiled with its own widening inlined (one set of loops, no per-type twins).
/// A block of 16 weights comes as two vectors of 8 whose lanes meet the activations arranged by
/// <see cref="MatVecKernel.Arrange"/>: in order for float32 and int8; for the 16-bit types even weights first, then
/// odd ones (<see cref="Interleaved"/>), which is what one 256-bit load of 16 halves gives with two instructions.
/// </summary>
public unsafe interface IWeightLoader<T> where T : unmanaged
{
    /// <summary>Weights p[0..15] as two vectors of 8 floats, times <see cref="WeightScale"/>.</summary>
    static abstract (Vector256<float> First, Vector256<float> Second) Load16(T* p);

    /// <summary>Weights p[0..7] as 8 floats in order: only for loaders that are not <see cref="Interleaved"/>.</summary>
    static abstract Vector256<float> Load8(T* p);

    /// <summary>Weight p[0] as a float times <see cref="WeightScale"/> (row tails, where activations are in order).</summary>
    static abstract float Load1(T* p);

    /// <summary>True when <see cref="Load16"/> gives weights 0, 2, .., 14 and then 1, 3, .., 15.</summary>
    static abstract bool Interleaved { get; }

    /// <summary>What the loaded weights are multiplied by (a power of two; 1 but for float16).</summary>
    static abstract float WeightScale { get; }

    /// <summary>What <see cref="MatVecKernel.Arrange"/> multiplies the activations by (a power of two; 1 but for float16).</summary>
    static abstract float ActivationScale { get; }

    /// <summary>How many weights ahead of the loop to prefetch; 0 for none.</summary>
    static abstract int PrefetchAhead { get; }
}

public readonly unsafe struct Float32Loader : IWeightLoader<float>
{
    public static int PrefetchAhead => 64;
    public static bool Interleaved => false;
    public static float WeightScale => 1f;
    public static float ActivationScale => 1f;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static (Vector256<float>, Vector256<float>) Load16(float* p) => (Avx.LoadVector256(p), Avx.LoadVector256(p + 8));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Load8(float* p) => Avx.LoadVector256(p);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Load1(float* p) => *p;
}

/// <summary>Signed bytes (vpmovsxbd + vcvtdq2ps); the per-row scale is applied to the sums.</summary>
public readonly unsafe struct Int8Loader : IWeightLoader<sbyte>
{
    public static int PrefetchAhead => 0;
    public static bool Interleaved => false;
    public static float WeightScale => 1f;
    public static float ActivationScale => 1f;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static (Vector256<float>, Vector256<float>) Load16(sbyte* p) =>
        (Load8(p), Load8(p + 8));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Load8(sbyte* p) => Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(p));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Load1(sbyte* p) => *p;
}

/// <summary>
/// bfloat16 is the top half of a float32, exactly. Read as 8 pairs of halves: the odd weight is the pair with its low half
/// cleared (vpand), the even one the pair shifted left 16 (vpslld): two instructions per 16 weights, against four
/// (zero-extend, shift, twice) read in order, which made the product compute-bound at ~12 GB/s on a 21 GB/s machine.
/// </summary>
public readonly unsafe struct BFloat16Loader : IWeightLoader<ushort>
{
    public static int PrefetchAhead => 128; // the same 256 bytes ahead as float32's 64 weights
    public static bool Interleaved => true;
    public static float WeightScale => 1f;
    public static float ActivationScale => 1f;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static (Vector256<float>, Vector256<float>) Load16(ushort* p)
    {
        var pairs = Avx.LoadVector256((int*)p);
        return (Avx2.ShiftLeftLogical(pairs, 16).AsSingle(), Avx2.And(pairs, Vector256.Create(unchecked((int)0xFFFF0000))).AsSingle());
    }

    public static Vector256<float> Load8(ushort* p) => throw new NotSupportedException("bfloat16 is read in pairs (Load16).");

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Load1(ushort* p) => BitConverter.Int32BitsToSingle(*p << 16);
}

/// <summary>
/// IEEE float16 without F16C (which .NET does not expose), as 8 pairs of halves like bfloat16: a half placed in the top 16
/// bits of a lane (the odd one is there; the even one is shifted there), shifted right 3 keeping the sign (vpsrad) and
/// masked to the sign (bit 31) and exponent+mantissa (bits 27..13), is a float32 whose exponent is the half's unbiased
/// by 127 instead of 15: the half's value times 2^-112 exactly, subnormals included (they arrive as float32 subnormals;
/// this needs denormals-are-zero off, as .NET and libtorch leave it). Five instructions per 16 weights; the 2^112 goes into
/// the arranged activations and the sums (<see cref="MatVecKernel.Arrange"/>) instead of a multiply per weight. Checked
/// against (float)Half over every finite bit pattern (HalfPrecisionDecodeTests). Infinity and NaN (exponent 31) would read
/// as finite values of 65536 to 131008 in magnitude; they are not weights of a usable checkpoint, so nothing checks for them.
/// </summary>
public readonly unsafe struct Float16Loader : IWeightLoader<ushort>
{
    public static int PrefetchAhead => 128;
    public static bool Interleaved => true;
    public static float WeightScale => 1.925929944387236e-34f; // 2^-112 = 2^(15 - 127)

    /// <summary>
    /// 2^100, not 2^112: activations up to 2.7e8 in magnitude stay finite (a float32 step's may pass a half's 65504), and
    /// the sums then carry 2^-12 (undone at the end), so only terms below 4.8e-35 in magnitude lose bits as subnormals.
    /// </summary>
    public static float ActivationScale => 1.2676506002282294e30f;

    const int SignExponentMantissa = unchecked((int)0x8FFFE000);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static (Vector256<float>, Vector256<float>) Load16(ushort* p)
    {
        var pairs = Avx.LoadVector256((int*)p);
        var mask = Vector256.Create(SignExponentMantissa);
        var even = Avx2.And(Avx2.ShiftRightArithmetic(Avx2.ShiftLeftLogical(pairs, 16), 3), mask);
        var odd = Avx2.And(Avx2.ShiftRightArithmetic(pairs, 3), mask);
        return (even.AsSingle(), odd.AsSingle());
    }

    public static Vector256<float> Load8(ushort* p) => throw new NotSupportedException("float16 is read in pairs (Load16).");

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Load1(ushort* p) => BitConverter.Int32BitsToSingle(((short)*p << 13) & SignExponentMantissa);
}
