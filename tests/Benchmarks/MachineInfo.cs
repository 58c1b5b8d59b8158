using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;

namespace Service.Benchmarks;

/// <summary>What the machine and the software stack are, for the report's header.</summary>
public sealed record MachineInfo(string CpuModel, int LogicalCpus, string SimdFlags, string MemoryTotal, string Os, string DotNet,
    string TorchSharp, string LibTorch, string LoadAtStart)
{
    public static MachineInfo Describe()
    {
        var cpuinfo = File.Exists("/proc/cpuinfo") ? File.ReadAllText("/proc/cpuinfo") : "";
        string model = Field(cpuinfo, "model name") ?? RuntimeInformation.ProcessArchitecture.ToString();
        var flags = (Field(cpuinfo, "flags") ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries)
            .Where(f => f.StartsWith("avx", StringComparison.Ordinal) || f.StartsWith("fma", StringComparison.Ordinal) || f.StartsWith("amx", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal);
        var meminfo = File.Exists("/proc/meminfo") ? File.ReadAllText("/proc/meminfo") : "";
        var memory = Regex.Match(meminfo, @"MemTotal:\s+(\d+) kB") is { Success: true } m
            ? $"{long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) / 1024.0 / 1024:F1} GiB" : "unknown";
        return new MachineInfo(model, Environment.ProcessorCount, string.Join(" ", flags), memory, RuntimeInformation.OSDescription,
            RuntimeInformation.FrameworkDescription, PackageVersion("TorchSharp") ?? "unknown",
            PackageVersion("libtorch-cpu-linux-x64") ?? PackageVersion("libtorch-cuda-12.8-linux-x64") ?? "unknown", CurrentLoad());
    }

    /// <summary>The 1, 5 and 15 minute load averages (other processes share the cores).</summary>
    public static string CurrentLoad() =>
        File.Exists("/proc/loadavg") ? string.Join(" ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "unknown";

    static string? Field(string cpuinfo, string name) =>
        Regex.Match(cpuinfo, $@"^{Regex.Escape(name)}\s*:\s*(.*)$", RegexOptions.Multiline) is { Success: true } m ? m.Groups[1].Value.Trim() : null;

    /// <summary>A package's version as this program's deps.json resolved it.</summary>
    static string? PackageVersion(string package)
    {
        var deps = Path.Combine(AppContext.BaseDirectory, $"{Process.GetCurrentProcess().ProcessName}.deps.json");
        var candidates = Directory.GetFiles(AppContext.BaseDirectory, "*.deps.json").Prepend(deps).Where(File.Exists);
        foreach (var file in candidates)
            if (Regex.Match(File.ReadAllText(file), $"\"{Regex.Escape(package)}/([^\"]+)\"") is { Success: true } m)
                return m.Groups[1].Value;
        return null;
    }
}
