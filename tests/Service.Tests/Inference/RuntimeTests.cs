using Service.Inference.Runtime;
using TorchSharp;

namespace Service.Tests.Inference;

public sealed class RuntimeTests
{
    [Theory]
    [InlineData("float32", torch.ScalarType.Float32)]
    [InlineData("float16", torch.ScalarType.Float16)]
    [InlineData("BFloat16", torch.ScalarType.BFloat16)]
    public void DType_settings_are_understood(string setting, torch.ScalarType expected) =>
        Assert.Equal(expected, TorchRuntime.ResolveDType(setting));

    [Fact]
    public void An_unknown_dtype_names_the_choices() =>
        Assert.Contains("float32, float16 or bfloat16", Assert.Throws<ArgumentException>(() => TorchRuntime.ResolveDType("int8")).Message);

    [Fact]
    public void Cpu_and_auto_resolve_on_a_machine_without_a_gpu()
    {
        Assert.Equal(DeviceType.CPU, TorchRuntime.ResolveDevice("cpu").type);
        Assert.Equal(torch.cuda.is_available() ? DeviceType.CUDA : DeviceType.CPU, TorchRuntime.ResolveDevice("auto").type);
    }

    [Theory]
    [InlineData("cuda:x")]
    [InlineData("tpu")]
    public void Invalid_device_settings_say_what_is_valid(string setting) =>
        Assert.Contains("auto, cpu, cuda or cuda:N", Assert.Throws<ArgumentException>(() => TorchRuntime.ResolveDevice(setting)).Message);

    [Fact]
    public void Asking_for_cuda_without_a_gpu_fails_clearly()
    {
        if (torch.cuda.is_available()) return; // only meaningful on CPU machines
        Assert.Contains("CUDA is not available", Assert.Throws<ArgumentException>(() => TorchRuntime.ResolveDevice("cuda:0")).Message);
    }
}
