using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace Service.Inference.Runtime;

/// <summary>Device and dtype choice from configuration, checked before any model is built.</summary>
public static partial class TorchRuntime
{
    /// <summary>
    /// Call before the first tensor: makes libtorch's OpenMP threads sleep at once when they wait
    /// (OMP_WAIT_POLICY=PASSIVE) unless the environment already says otherwise. With libgomp's default
    /// spin-then-sleep, a parallel region whose threads share a core with anything else (Kestrel's
    /// threads, the GC, another process) waits for a scheduler tick: measured here, a 16x768 GEMM
    /// stack took 257 ms instead of 75 ms, and batched decode MLPs stalled 8-16 ms per matrix.
    /// libgomp reads its settings when libtorch loads, from the C environment, which
    /// Environment.SetEnvironmentVariable does not change on Linux; hence setenv.
    /// </summary>
    public static void PrepareNativeThreading()
    {
        const string key = "OMP_WAIT_POLICY";
        if (!OperatingSystem.IsLinux() || Environment.GetEnvironmentVariable(key) is not null) return;
        SetEnvironment(key, "PASSIVE", overwrite: 0);
        Environment.SetEnvironmentVariable(key, "PASSIVE"); // so the managed view (and logs) agree
    }

    [LibraryImport("libc", EntryPoint = "setenv", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int SetEnvironment(string name, string value, int overwrite);

    public static Device ResolveDevice(string setting)
    {
        var s = (setting ?? "auto").Trim().ToLowerInvariant();
        if (s is "" or "auto") return torch.cuda.is_available() ? torch.CUDA : torch.CPU;
        if (s == "cpu") return torch.CPU;
        if (s == "cuda" || s.StartsWith("cuda:", StringComparison.Ordinal))
        {
            int index = 0;
            if (s.Length > 4 && !int.TryParse(s[5..], out index))
                throw new ArgumentException($"Inference:Device '{setting}' is not valid; use auto, cpu, cuda or cuda:N.");
            if (!torch.cuda.is_available())
                throw new ArgumentException($"Inference:Device is '{setting}' but CUDA is not available (this build uses the {BackendName} backend, or no GPU is visible).");
            if (index >= torch.cuda.device_count())
                throw new ArgumentException($"Inference:Device is '{setting}' but only {torch.cuda.device_count()} CUDA device(s) are visible.");
            return torch.device(DeviceType.CUDA, index);
        }
        throw new ArgumentException($"Inference:Device '{setting}' is not valid; use auto, cpu, cuda or cuda:N.");
    }

    public static ScalarType ResolveDType(string setting, string key = "Inference:DType") => (setting ?? "float32").Trim().ToLowerInvariant() switch
    {
        "float32" or "fp32" or "f32" => ScalarType.Float32,
        "float16" or "fp16" or "f16" or "half" => ScalarType.Float16,
        "bfloat16" or "bf16" => ScalarType.BFloat16,
        _ => throw new ArgumentException($"{key} '{setting}' is not valid; use float32, float16 or bfloat16."),
    };

    public static void ConfigureThreads(int threads) =>
        torch.set_num_threads(threads > 0 ? threads : Environment.ProcessorCount);

    /// <summary>Which native backend this build carries (the TorchBackend MSBuild property).</summary>
    public static string BackendName =>
        typeof(TorchRuntime).Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyMetadataAttribute), false)
            .OfType<System.Reflection.AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == "TorchBackend")?.Value ?? "cpu";
}
