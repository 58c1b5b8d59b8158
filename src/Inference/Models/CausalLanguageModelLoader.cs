using Service.Inference.Checkpoints;
using Service.Inference.Models.ChatGlm;
using Service.Inference.Models.Llama;
using static TorchSharp.torch;

namespace Service.Inference.Models;

/// <summary>Builds a decoder from a Hugging Face checkpoint directory and loads its weights strictly.</summary>
public static class CausalLanguageModelLoader
{
    static readonly string[] Supported = ["LlamaForCausalLM", "Qwen2ForCausalLM", "ChatGLMModel", "ChatGLMForConditionalGeneration"];

    public static ICausalLanguageModel Load(CheckpointDirectory checkpoint, Device device, ScalarType dtype)
    {
        var configFile = checkpoint.File("config.json");
        if (IsChatGlm(checkpoint))
        {
            var glm = checkpoint.ReadConfig<ChatGlmConfig>();
            glm.Validate(configFile);
            return WeightLoader.LoadNew(new ChatGlmForConditionalGeneration(glm, device, dtype), checkpoint, ChatGlmForConditionalGeneration.ModuleKey);
        }
        var config = checkpoint.ReadConfig<LlamaConfig>();
        bool known = config.Architectures.Length == 0 ? config.ModelType is "llama" or "qwen2" : config.Architectures.Any(Supported.Contains);
        if (!known)
            throw new CheckpointException($"{configFile}: architectures [{string.Join(", ", config.Architectures)}] (model_type '{config.ModelType}') is not a chat model this service serves ({string.Join(", ", Supported)}).");
        config.Validate(configFile);
        var model = new LlamaForCausalLM(config, device, dtype);
        return WeightLoader.LoadNew(model, checkpoint, model.ModuleKey);
    }

    public static bool IsChatGlm(CheckpointDirectory checkpoint) =>
        checkpoint.Config.RootElement.TryGetProperty("model_type", out var type) && type.GetString() == "chatglm";
}
