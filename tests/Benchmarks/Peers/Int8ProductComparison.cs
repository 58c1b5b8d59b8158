using System.Diagnostics;
using System.Globalization;
using Service.Inference.Models.Decode;

namespace Service.Benchmarks.Peers;

/// <summary>
/// The two int8 decode products on the Qwen2-0.5B matrix shapes, interleaved (the figure that holds under
/// contention): weights widened to float32 (<see cref="MatVecKernel"/>, decode before integer dot products) against
/// activations quantised in blocks of 32 and multiplied as integers (<see cref="Int8DotKernel"/>, quantisation
/// included), both split by the <see cref="CoreTeam"/> in chunks of 32 output rows as the service does.
/// </summary>
public static unsafe class Int8ProductComparison
{
    const int ChunkRows = 32;

    public static void Run(TextWriter log)
    {
        if (!MatVecKernel.Supported)
        {
            log.WriteLine("int8 products: no AVX2 and FMA here, both kernels skipped");
            return;
        }
        var random = new Random(1);
        foreach (var (inFeatures, outFeatures) in new[] { (896, 4864), (4864, 896), (896, 151936) })
            foreach (int rows in new[] { 1, 8 })
            {
                var weight = GC.AllocateUninitializedArray<sbyte>(inFeatures * outFeatures, pinned: true);
                for (int i = 0; i < weight.Length; i++) weight[i] = (sbyte)random.Next(-127, 128);
                var scales = Pinned(outFeatures, () => 0.01f);
                var x = Pinned(rows * inFeatures, () => (float)(random.NextDouble() * 2 - 1));
                var y = Pinned(rows * outFeatures, () => 0f);
                nint w = Address(weight), s = Address(scales), xs = Address(x), ys = Address(y);
                int chunks = (outFeatures + ChunkRows - 1) / ChunkRows;
                void Widening() => CoreTeam.Shared.Run(chunks, c => MatVecKernel.Run((void*)w, WeightType.Int8, (float*)s, (float*)xs, null, (float*)ys,
                    rows, inFeatures, outFeatures, c * ChunkRows, Math.Min(outFeatures, (c + 1) * ChunkRows)));
                void IntegerDot()
                {
                    var q = QuantizedActivations.Of((float*)xs, rows, inFeatures);
                    CoreTeam.Shared.Run(chunks, c => Int8DotKernel.Run((sbyte*)w, (float*)s, q.Values, q.Scales, (float*)xs, null, (float*)ys,
                        rows, inFeatures, outFeatures, c * ChunkRows, Math.Min(outFeatures, (c + 1) * ChunkRows)));
                }
                double bytes = (double)inFeatures * outFeatures;
                var (widening, integer) = (new List<double>(), new List<double>());
                for (int round = 0; round < 11; round++)
                {
                    widening.Add(Rate(Widening));
                    integer.Add(Rate(IntegerDot));
                }
                double Rate(Action product)
                {
                    product();
                    int n = Math.Max(3, (int)(1e9 / bytes));
                    long start = Stopwatch.GetTimestamp();
                    for (int i = 0; i < n; i++) product();
                    return n * bytes / Stopwatch.GetElapsedTime(start).TotalSeconds / 1e9;
                }
                GC.KeepAlive(weight); // the kernels hold only addresses: the arrays must live (and stay pinned) until here
                GC.KeepAlive(scales);
                GC.KeepAlive(x);
                GC.KeepAlive(y);
                log.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"int8 matvec [{inFeatures} -> {outFeatures}] x {rows} rows: widening to float32 {Measure.Median(widening):F1} GB/s, integer dot products {Measure.Median(integer):F1} GB/s, median ratio {Measure.Median(integer.Zip(widening, (a, b) => a / b).ToList()):F2}"));
            }
    }

    static float[] Pinned(int length, Func<float> value)
    {
        var array = GC.AllocateUninitializedArray<float>(length, pinned: true);
        for (int i = 0; i < length; i++) array[i] = value();
        return array;
    }

    static nint Address<T>(T[] pinned) where T : unmanaged => (nint)System.Runtime.CompilerServices.Unsafe.AsPointer(ref pinned[0]);
}
