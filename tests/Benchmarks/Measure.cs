using System.Diagnostics;

namespace Service.Benchmarks;

/// <summary>Timing helpers: samples in milliseconds, percentiles by nearest rank.</summary>
public static class Measure
{
    /// <summary>Runs <paramref name="action"/> warm-up times untimed, then times each of <paramref name="iterations"/> runs.</summary>
    public static double[] Times(int warmUp, int iterations, Action action)
    {
        for (int i = 0; i < warmUp; i++) action();
        var samples = new double[iterations];
        for (int i = 0; i < iterations; i++)
        {
            long start = Stopwatch.GetTimestamp();
            action();
            samples[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        }
        return samples;
    }

    public static async Task<double[]> TimesAsync(int warmUp, int iterations, Func<Task> action)
    {
        for (int i = 0; i < warmUp; i++) await action();
        var samples = new double[iterations];
        for (int i = 0; i < iterations; i++)
        {
            long start = Stopwatch.GetTimestamp();
            await action();
            samples[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        }
        return samples;
    }

    public static double Percentile(IReadOnlyCollection<double> samples, double p)
    {
        if (samples.Count == 0) return double.NaN;
        var sorted = samples.Order().ToArray();
        int rank = (int)Math.Ceiling(p / 100.0 * sorted.Length);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Length - 1)];
    }

    public static double Median(IReadOnlyCollection<double> samples) => Percentile(samples, 50);
}

/// <summary>Resident memory of this process from /proc/self/status (Linux), with a resettable peak.</summary>
public static class ResidentMemory
{
    /// <summary>Peak resident bytes (VmHWM) since start or the last <see cref="ResetPeak"/>; Process.PeakWorkingSet64 elsewhere.</summary>
    public static long PeakBytes() => Status("VmHWM:") ?? Process.GetCurrentProcess().PeakWorkingSet64;

    public static long CurrentBytes() => Status("VmRSS:") ?? Process.GetCurrentProcess().WorkingSet64;

    /// <summary>
    /// Before a phase: collects garbage and hands glibc's free heap pages back to the kernel, so the
    /// phase's baseline holds no freed-but-resident memory of an earlier phase (a new host thread
    /// may take over the old one's malloc arena and reuse it, which would hide part of its own use).
    /// </summary>
    public static void ReleaseFreed()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        if (!OperatingSystem.IsLinux()) return;
        try { malloc_trim(0); }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { } // not glibc
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "malloc_trim")]
    static extern int malloc_trim(nuint pad);

    /// <summary>
    /// Issue 5's memory target, on the peak this phase is accountable for: the peak minus the RSS when
    /// the model load began (the .NET runtime, ASP.NET Core and the benchmark's client are in that
    /// baseline). The raw ratio is shown beside it.
    /// </summary>
    public static TargetCheck PeakTarget(string target, long peak, long beforeLoad, long budget) =>
        new($"{target} (attributable: peak minus RSS before the model load)",
            $"{(double)(peak - beforeLoad) / budget:F2}x (raw peak {(double)peak / budget:F2}x)", peak - beforeLoad <= 1.2 * budget);

    /// <summary>Resets VmHWM to the current RSS (writes 5 to /proc/self/clear_refs, Linux 4.0+). False when not possible.</summary>
    public static bool ResetPeak()
    {
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            return false;
        }
    }

    static long? Status(string field)
    {
        if (!File.Exists("/proc/self/status")) return null;
        foreach (var line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith(field, StringComparison.Ordinal))
                return long.Parse(line[field.Length..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture) * 1024; // kB
        return null;
    }
}
