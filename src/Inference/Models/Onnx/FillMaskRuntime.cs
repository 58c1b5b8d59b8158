using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.ML.OnnxRuntime;
using Service.Inference.Models.Bert;
using TorchSharp;

namespace Service.Inference.Models.Onnx;

/// <summary>Chooses what runs fill-mask (Inference:FillMaskRuntime) once the probe model is loaded.</summary>
public static class FillMaskRuntime
{
    public static IProbedModel Apply(IProbedModel probed, string setting, ILogger log)
    {
        if (setting == "torch") return probed;
        bool required = setting == "onnxruntime";
        if (probed is not MaskedLmBundle { Model: BertForMaskedLM bert } bundle)
            return required ? throw new ArgumentException($"Inference:FillMaskRuntime is onnxruntime, but {probed.Name} is not a BERT or XLM-R masked LM.") : probed;
        var clock = Stopwatch.StartNew();
        OnnxMaskedLanguageModel? model;
        string? unsupported;
        try
        {
            (model, unsupported) = OnnxMaskedLanguageModel.TryCreate(bert, torch.get_num_threads());
        }
        catch (OnnxRuntimeException e) when (!required)
        {
            // auto: a model ONNX Runtime refuses still serves, on TorchSharp.
            log.LogWarning(e, "ONNX Runtime could not compile {Model}; fill-mask runs on TorchSharp", bundle.Name);
            return probed;
        }
        if (model is null)
        {
            if (required) throw new ArgumentException($"Inference:FillMaskRuntime is onnxruntime, but {bundle.Name} has {unsupported}; use auto or torch.");
            log.LogInformation("Fill-mask runs on TorchSharp: {Model} has {Reason}", bundle.Name, unsupported);
            return probed;
        }
        log.LogInformation("Fill-mask runs on ONNX Runtime over {Model}'s weights ({Threads} threads; graph compiled in {Seconds:F1} s)",
            bundle.Name, torch.get_num_threads(), clock.Elapsed.TotalSeconds);
        return bundle with { Model = model };
    }
}
