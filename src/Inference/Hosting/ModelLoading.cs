using Microsoft.Extensions.Logging;
using Service.Inference.Demo;
using Service.Inference.FillMask;
using Service.Inference.Models;
using Service.Inference.Projection;
using Service.Inference.Runtime;

namespace Service.Inference.Hosting;

/// <summary>Builds the host's models from configuration (runs on the host's thread).</summary>
public static class ModelLoading
{
    public static LoadedModels Load(ModelsOptions models, InferenceOptions inference, FillMaskOptions fillMask, ProjectionOptions projection, ILogger log)
    {
        var device = TorchRuntime.ResolveDevice(inference.Device);
        var dtype = TorchRuntime.ResolveDType(inference.DType);
        TorchRuntime.ConfigureThreads(inference.Threads);
        log.LogInformation("Inference on {Device} in {DType} with {Threads} threads ({Backend} backend)",
            device, dtype, TorchSharp.torch.get_num_threads(), TorchRuntime.BackendName);

        MaskedLmBundle bundle;
        if (string.IsNullOrWhiteSpace(models.FillMask.Path))
        {
            bundle = DemoMaskedLm.Create(device, dtype);
            log.LogWarning("Models:FillMask:Path is not set: serving the embedded demo model {Model} (random weights, meaningless predictions)", bundle.Name);
        }
        else
        {
            bundle = MaskedLanguageModelLoader.Load(models.FillMask.Path, device, dtype);
            log.LogInformation("Fill-mask model {Model} loaded from {Path}: {Layers} layers, hidden {Hidden}, vocabulary {Vocab}",
                bundle.Name, models.FillMask.Path, bundle.Model.LayerCount, bundle.Model.HiddenSize, bundle.Model.VocabSize);
        }
        return new LoadedModels(bundle, fillMask, projection, log);
    }
}
