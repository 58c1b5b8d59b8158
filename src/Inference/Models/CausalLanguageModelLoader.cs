using Service.Inference.Checkpoints;
using Service.Inference.Models.Llama;
using static TorchSharp.torch;

namespace Service.Inference.Models;

/// <summary>Builds a decoder from a Hugging Face checkpoint directory and loads its weights strictly.</summary>
public static class CausalLanguageModelLoader
{
    static readonly string[] Supported = ["LlamaForCausalLM", "Qwen2ForCausalLM"];

    public static LlamaForCausalLM Load(CheckpointDirectory checkpoint, Device device, ScalarType dtype)
    {
        var config = ReadConfig(checkpoint);
        var model = new LlamaForCausalLM(config, device, dtype);
        return WeightLoader.LoadNew(model, checkpoint, model.ModuleKey);
    }

    public static LlamaConfig ReadConfig(CheckpointDirectory checkpoint)
    {
        var config = checkpoint.ReadConfig<LlamaConfig>();
        var configFile = checkpoint.File("config.json");
        bool known = config.Architectures.Length == 0 ? config.ModelType is "llama" or "qwen2" : config.Architectures.Any(Supported.Contains);
        if (!known)
            throw new CheckpointException($"{configFile}: architectures [{string.Join(", ", config.Architectures)}] (model_type '{config.ModelType}') is not a chat model this service serves ({string.Join(", ", Supported)}).");
        config.Validate(configFile);
        return config;
    }
}
