using Service.Inference.Checkpoints;
using Service.Inference.Models.ChatGlm;
using Service.Inference.Models.Llama;
using static TorchSharp.torch;

namespace Service.Inference.Models;

/// <summary>Builds a decoder from a Hugging Face checkpoint directory and loads its weights strictly.</summary>
public static class CausalLanguageModelLoader
{
    /// <summary>The chat decoder of the checkpoint's family (see <see cref="ModelRegistry"/>).</summary>
    public static ICausalLanguageModel Load(CheckpointDirectory checkpoint, Device device, ScalarType dtype) =>
        ModelRegistry.LoadChat(checkpoint, device, dtype);

    /// <summary>Llama and Qwen2 (the same module tree; Qwen2 adds q/k/v biases).</summary>
    public static ICausalLanguageModel LoadLlama(CheckpointDirectory checkpoint, Device device, ScalarType dtype)
    {
        var config = checkpoint.ReadConfig<LlamaConfig>();
        config.Validate(checkpoint.File("config.json"));
        var model = new LlamaForCausalLM(config, device, dtype);
        return WeightLoader.LoadNew(model, checkpoint, model.ModuleKey);
    }

    public static ICausalLanguageModel LoadChatGlm(CheckpointDirectory checkpoint, Device device, ScalarType dtype)
    {
        var glm = checkpoint.ReadConfig<ChatGlmConfig>();
        glm.Validate(checkpoint.File("config.json"));
        return WeightLoader.LoadNew(new ChatGlmForConditionalGeneration(glm, device, dtype), checkpoint, ChatGlmForConditionalGeneration.ModuleKey);
    }
}
