using Microsoft.Extensions.Logging;
using Service.Inference.Chat;
using Service.Inference.Demo;
using Service.Inference.FillMask;
using Service.Inference.Models;
using Service.Inference.Models.Onnx;
using Service.Inference.Projection;
using Service.Inference.Runtime;

namespace Service.Inference.Hosting;

/// <summary>Builds the host's models from configuration (runs on the host's thread).</summary>
public static class ModelLoading
{
    public static LoadedModels Load(ModelsOptions models, InferenceOptions inference, FillMaskOptions fillMask, ProjectionOptions projection, ILogger log, ChatOptions? chat = null)
    {
        var device = TorchRuntime.ResolveDevice(inference.Device);
        var dtype = TorchRuntime.ResolveDType(inference.DType);
        TorchRuntime.ConfigureThreads(inference.Threads);
        log.LogInformation("Inference on {Device} in {DType} with {Threads} threads ({Backend} backend)",
            device, dtype, TorchSharp.torch.get_num_threads(), TorchRuntime.BackendName);

        IProbedModel bundle;
        if (string.IsNullOrWhiteSpace(models.FillMask.Path))
        {
            bundle = DemoMaskedLm.Create(device, dtype);
            log.LogWarning("Models:FillMask:Path is not set: serving the embedded demo model {Model} (random weights, meaningless predictions)", bundle.Name);
        }
        else
        {
            bundle = LoadProbed(models.FillMask.Path, device, dtype);
            log.LogInformation("Probe model {Model} loaded from {Path}: {Layers} layers, hidden {Hidden}, vocabulary {Vocab}",
                bundle.Name, models.FillMask.Path, bundle.Model.LayerCount, bundle.Model.HiddenSize, bundle.Model.VocabSize);
        }
        bundle = FillMaskRuntime.Apply(bundle, inference.FillMaskRuntime, log, models.FillMask.Weights);
        var chatDType = string.IsNullOrWhiteSpace(models.Chat.DType) ? dtype : TorchRuntime.ResolveDType(models.Chat.DType, "Models:Chat:DType");
        return new LoadedModels(bundle, fillMask, projection, log, LoadChat(models.Chat, device, chatDType, log), chat);
    }

    /// <summary>BERT / XLM-R for fill-mask and LRP2, or BLOOM for LRP2 probing: whatever <see cref="ModelRegistry"/> finds.</summary>
    static IProbedModel LoadProbed(string path, TorchSharp.torch.Device device, TorchSharp.torch.ScalarType dtype) =>
        ModelRegistry.LoadProbed(Checkpoints.CheckpointDirectory.Open(path), device, dtype);

    static ChatBundle LoadChat(ChatModelSlotOptions slot, TorchSharp.torch.Device device, TorchSharp.torch.ScalarType dtype, ILogger log)
    {
        var chat = LoadChatModel(slot, device, dtype, log) with { DefaultSystem = string.IsNullOrWhiteSpace(slot.SystemPrompt) ? null : slot.SystemPrompt };
        if (slot.Weights == "int8") // the options validation admits only empty or int8
        {
            if (chat.Model is not Models.Decode.IInt8Weights quantizable)
                throw new ArgumentException($"Models:Chat:Weights=int8 is not available for the {chat.Name} model; it supports Llama and Qwen2 checkpoints.");
            quantizable.QuantizeWeights();
            log.LogInformation("Chat model {Model}: matrices quantised to int8 per output row", chat.Name);
        }
        return chat;
    }

    static ChatBundle LoadChatModel(ChatModelSlotOptions slot, TorchSharp.torch.Device device, TorchSharp.torch.ScalarType dtype, ILogger log)
    {
        if (string.IsNullOrWhiteSpace(slot.Path))
        {
            var demo = DemoChatModel.Create(device, dtype, slot.PromptFormat);
            log.LogWarning("Models:Chat:Path is not set: serving the embedded demo chat model {Model} (random weights, meaningless replies) with the {Format} prompt format", demo.Name, demo.Format.Name);
            return demo;
        }
        var chat = ChatModelLoader.Load(slot.Path, slot.PromptFormat, device, dtype);
        log.LogInformation("Chat model {Model} loaded from {Path}: {Layers} layers, vocabulary {Vocab}, context {Context}, {Format} prompt format, {DType}",
            chat.Name, slot.Path, chat.Model.LayerCount, chat.Model.VocabSize, chat.Model.MaxSequenceLength, chat.Format.Name, dtype);
        return chat;
    }
}
