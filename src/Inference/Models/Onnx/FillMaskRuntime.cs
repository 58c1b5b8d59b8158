using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.ML.OnnxRuntime;
using Service.Inference.Models.Bert;
using TorchSharp;

namespace Service.Inference.Models.Onnx;

/// <summary>Chooses what runs fill-mask (Inference:FillMaskRuntime) once the probe model is loaded.</summary>
public static class FillMaskRuntime
{
    /// <param name="weights">Models:FillMask:Weights: empty, or int8 (ONNX Runtime only).</param>
    public static IProbedModel Apply(IProbedModel probed, string setting, ILogger log, string? weights = null)
    {
        bool int8 = weights == "int8";
        if (int8 && setting == "torch")
            throw new ArgumentException("Models:FillMask:Weights=int8 runs on ONNX Runtime, but Inference:FillMaskRuntime is torch; use auto or onnxruntime.");
        if (setting == "torch") return probed;
        if (int8) setting = "onnxruntime"; // int8 exists only there: a model it cannot serve must stop start-up, not fall back
        bool required = setting == "onnxruntime";
        var demand = int8 ? "Models:FillMask:Weights=int8" : "Inference:FillMaskRuntime=onnxruntime";
        if (probed is not MaskedLmBundle { Model: BertForMaskedLM bert } bundle)
            return required ? throw new ArgumentException($"{demand} needs ONNX Runtime, but {probed.Name} is not a BERT or XLM-R masked LM.") : probed;
        var clock = Stopwatch.StartNew();
        OnnxMaskedLanguageModel? model;
        string? unsupported;
        try
        {
            (model, unsupported) = OnnxMaskedLanguageModel.TryCreate(bert, torch.get_num_threads(), int8);
        }
        catch (Exception e) when (!required && e is OnnxRuntimeException or InvalidOperationException)
        {
            // auto: a model ONNX Runtime refuses (or too large to go inside the model without a writable temporary directory) still serves, on TorchSharp.
            log.LogWarning(e, "ONNX Runtime could not compile {Model}; fill-mask runs on TorchSharp", bundle.Name);
            return probed;
        }
        if (model is null)
        {
            if (required) throw new ArgumentException($"{demand} needs ONNX Runtime, but {bundle.Name} has {unsupported}; use Inference:FillMaskRuntime auto or torch and no int8.");
            log.LogInformation("Fill-mask runs on TorchSharp: {Model} has {Reason}", bundle.Name, unsupported);
            return probed;
        }
        log.LogInformation("Fill-mask runs on ONNX Runtime over {Model}'s weights ({Precision}, {Threads} threads; graph compiled in {Seconds:F1} s)",
            bundle.Name, int8 ? "int8 products" : "float32", torch.get_num_threads(), clock.Elapsed.TotalSeconds);
        return bundle with { Model = model };
    }
}
