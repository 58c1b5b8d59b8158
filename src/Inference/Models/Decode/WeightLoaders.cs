using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Service.Inference.Models.Decode;

/// <summary>
/// How <see cref="MatVecKernel"/> reads one weight type as float32: a struct per type, so each instantiation
/// of the kernel's loops is compiled with its own widening inlined (one set of loops, no per-type twins).
/// </summary>
public unsafe interface IWeightLoader<T> where T : unmanaged
{
    /// <summary>Weights p[0..7] as 8 floats.</summary>
    static abstract Vector256<float> Load8(T* p);

    /// <summary>Weight p[0] as a float (row tails).</summary>
    static abstract float Load1(T* p);

    /// <summary>How many weights ahead of the loop to prefetch; 0 for none.</summary>
    static abstract int PrefetchAhead { get; }
}

public readonly unsafe struct Float32Loader : IWeightLoader<float>
{
    public static int PrefetchAhead => 64;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Load8(float* p) => Avx.LoadVector256(p);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Load1(float* p) => *p;
}

/// <summary>Signed bytes (vpmovsxbd + vcvtdq2ps); the per-row scale is applied to the sums.</summary>
public readonly unsafe struct Int8Loader : IWeightLoader<sbyte>
{
    public static int PrefetchAhead => 0;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Load8(sbyte* p) => Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(p));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Load1(sbyte* p) => *p;
}

/// <summary>bfloat16 is the top half of a float32: zero-extend to 32 bits (vpmovzxwd) and shift left 16; exact.</summary>
public readonly unsafe struct BFloat16Loader : IWeightLoader<ushort>
{
    public static int PrefetchAhead => 128; // the same 256 bytes ahead as float32's 64 weights

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Load8(ushort* p) => Avx2.ShiftLeftLogical(Avx2.ConvertToVector256Int32(p), 16).AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Load1(ushort* p) => BitConverter.Int32BitsToSingle(*p << 16);
}

/// <summary>
/// IEEE float16 without F16C (which .NET does not expose): sign-extend to 32 bits (vpmovsxwd), shift left 13 and keep
/// the sign (bit 31) and exponent+mantissa (bits 27..13): a float32 whose exponent is the half's, unbiased by 127
/// instead of 15, so multiplying by 2^112 gives the half's value exactly, subnormals included (they arrive as float32
/// subnormals, scaled into normals; this needs denormals-are-zero off, as .NET and libtorch leave it). Checked against
/// (float)Half over every finite bit pattern (MatVecKernelTests). Infinity and NaN (exponent 31) would read as finite
/// values of 65536 to 131008 in magnitude; they are not weights of a usable checkpoint, so nothing checks for them.
/// </summary>
public readonly unsafe struct Float16Loader : IWeightLoader<ushort>
{
    public static int PrefetchAhead => 128;

    const int SignExponentMantissa = unchecked((int)0x8FFFE000);
    const float ExponentShift = 5.192296858534828e33f; // 2^112 = 2^(127 - 15)

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Load8(ushort* p)
    {
        var bits = Avx2.And(Avx2.ShiftLeftLogical(Avx2.ConvertToVector256Int32((short*)p), 13), Vector256.Create(SignExponentMantissa));
        return Avx.Multiply(bits.AsSingle(), Vector256.Create(ExponentShift));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Load1(ushort* p) => BitConverter.Int32BitsToSingle(((short)*p << 13) & SignExponentMantissa) * ExponentShift;
}
