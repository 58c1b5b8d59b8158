using Service.Inference.Checkpoints;
using Service.Inference.Models.Bloom;
using static TorchSharp.torch;

namespace Service.Inference.Models;

/// <summary>Where a checkpoint can serve: the probe slot (`Models:FillMask`: fill-mask and LRP2) or the chat slot (`Models:Chat`).</summary>
public enum ModelSlot { Probe, Chat }

/// <summary>
/// One architecture family: the `architectures` and `model_type` values of config.json that name it,
/// and how to load it for each slot it serves.
/// </summary>
public sealed record ModelFamily(string Name, string[] Architectures, string[] ModelTypes)
{
    public Func<CheckpointDirectory, Device, ScalarType, IProbedModel>? LoadProbed { get; init; }
    public Func<CheckpointDirectory, Device, ScalarType, ICausalLanguageModel>? LoadChat { get; init; }

    public bool Serves(ModelSlot slot) => slot == ModelSlot.Probe ? LoadProbed is not null : LoadChat is not null;
}

/// <summary>
/// Every architecture the service loads, keyed by config.json's `architectures` (first) and `model_type`
/// (when a config names no architecture): adding an architecture is one entry here.
/// </summary>
public static class ModelRegistry
{
    public const string ChatGlm = "chatglm";

    public static readonly IReadOnlyList<ModelFamily> Families =
    [
        new("bert", ["BertForMaskedLM"], ["bert"]) { LoadProbed = MaskedLanguageModelLoader.Load },
        new("xlm-roberta", ["XLMRobertaForMaskedLM", "RobertaForMaskedLM"], ["xlm-roberta", "roberta"]) { LoadProbed = MaskedLanguageModelLoader.Load },
        new("bloom", ["BloomForCausalLM"], ["bloom"]) { LoadProbed = BloomBundle.Load },
        new("llama", ["LlamaForCausalLM"], ["llama"]) { LoadChat = CausalLanguageModelLoader.LoadLlama },
        new("qwen2", ["Qwen2ForCausalLM"], ["qwen2"]) { LoadChat = CausalLanguageModelLoader.LoadLlama },
        new(ChatGlm, ["ChatGLMModel", "ChatGLMForConditionalGeneration"], ["chatglm"]) { LoadChat = CausalLanguageModelLoader.LoadChatGlm },
    ];

    /// <summary>The model type a config without `architectures` or `model_type` is read as (the config classes' defaults).</summary>
    static string DefaultModelType(ModelSlot slot) => slot == ModelSlot.Probe ? "bert" : "llama";

    /// <summary>The family of a checkpoint for a slot; a checkpoint of no family the slot serves is an error that lists what is supported.</summary>
    public static ModelFamily Find(CheckpointDirectory checkpoint, ModelSlot slot)
    {
        var root = checkpoint.Config.RootElement;
        string[] architectures = root.TryGetProperty("architectures", out var a) && a.ValueKind == System.Text.Json.JsonValueKind.Array
            ? [.. a.EnumerateArray().Select(e => e.GetString()).OfType<string>()]
            : [];
        string modelType = root.TryGetProperty("model_type", out var t) && t.GetString() is { Length: > 0 } type ? type : DefaultModelType(slot);
        var candidates = Families.Where(f => f.Serves(slot)).ToList();
        var family = architectures.Length > 0
            ? candidates.FirstOrDefault(f => f.Architectures.Any(architectures.Contains))
            : candidates.FirstOrDefault(f => f.ModelTypes.Contains(modelType));
        if (family is not null) return family;
        var what = slot == ModelSlot.Probe ? "a masked LM or probe model (Models:FillMask)" : "a chat model (Models:Chat)";
        throw new CheckpointException(
            $"{checkpoint.File("config.json")}: architectures [{string.Join(", ", architectures)}] (model_type '{modelType}') is not {what} this service serves " +
            $"({string.Join(", ", candidates.SelectMany(f => f.Architectures))}).");
    }

    public static IProbedModel LoadProbed(CheckpointDirectory checkpoint, Device device, ScalarType dtype) =>
        Find(checkpoint, ModelSlot.Probe).LoadProbed!(checkpoint, device, dtype);

    public static ICausalLanguageModel LoadChat(CheckpointDirectory checkpoint, Device device, ScalarType dtype) =>
        Find(checkpoint, ModelSlot.Chat).LoadChat!(checkpoint, device, dtype);
}
