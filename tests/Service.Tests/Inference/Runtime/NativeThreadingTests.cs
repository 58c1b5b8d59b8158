using System.Runtime.InteropServices;
using Service.Tests.Support;

namespace Service.Tests.Inference.Runtime;

public sealed partial class NativeThreadingTests
{
    [LibraryImport("libc", EntryPoint = "getenv", StringMarshalling = StringMarshalling.Utf8)]
    private static partial IntPtr GetEnvironment(string name);

    [Fact]
    public void OpenMP_threads_are_told_to_wait_passively_before_libtorch_loads()
    {
        // Read from the C environment, where libgomp reads it, not from .NET's copy.
        var value = Marshal.PtrToStringUTF8(GetEnvironment("OMP_WAIT_POLICY"));
        Assert.Equal("PASSIVE", value);
    }
}
