using Microsoft.Extensions.Logging.Abstractions;
using Service.Inference.FillMask;
using Service.Inference.Hosting;
using Service.Inference.Models.Onnx;
using Service.Inference.Projection;
using Service.Inference.Runtime;
using Service.Tests.Support;
using TorchSharp;
using static TorchSharp.torch;

namespace Service.Tests.Inference.Runtime;

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
    public void The_chat_model_may_take_its_own_dtype_while_the_probed_model_keeps_the_common_one()
    {
        var models = new ModelsOptions { Chat = new ChatModelSlotOptions { DType = "bfloat16" } };
        using var loaded = ModelLoading.Load(models, new InferenceOptions { Device = "cpu" }, new FillMaskOptions(),
            new ProjectionOptions { CacheDirectory = Directory.CreateTempSubdirectory().FullName }, NullLogger.Instance);
        Assert.All(((nn.Module)loaded.Chat!.Bundle.Model).parameters(), p => Assert.Equal(torch.ScalarType.BFloat16, p.dtype));
        var probed = Assert.IsType<OnnxMaskedLanguageModel>(loaded.Probed.Model); // float32 on the CPU: fill-mask on ONNX Runtime
        Assert.All(probed.Torch.parameters(), p => Assert.Equal(torch.ScalarType.Float32, p.dtype));
        Assert.Equal(2L * 2 * 2 * 16 * 2, loaded.Chat.Bundle.Model.KvBytesPerPosition); // layers x (k, v) x KV heads x head dim x 2 bytes

        models.Chat.DType = "int4";
        var error = Assert.Throws<ArgumentException>(() => ModelLoading.Load(models, new InferenceOptions { Device = "cpu" }, new FillMaskOptions(), new ProjectionOptions(), NullLogger.Instance));
        Assert.Contains("Models:Chat:DType 'int4'", error.Message);
    }

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
