using System.Runtime.CompilerServices;
using Service.Inference.Runtime;

namespace Service.Tests.Support;

static class NativeThreading
{
    /// <summary>The test process loads libtorch as the service does: after OpenMP is told to wait passively.</summary>
    [ModuleInitializer]
    internal static void Prepare() => TorchRuntime.PrepareNativeThreading();
}
