using Service.Inference.Models.ChatGlm;
using Service.Inference.Models.Llama;
using Service.Tests.Support;
using TorchSharp;

namespace Service.Tests.Inference.Models;

/// <summary>
/// State-dict keys and shapes of published decoder configs, built on the meta device, against key
/// lists that generate.py writes from the checkpoints' naming scheme (not from this code).
/// </summary>
public sealed class DecoderKeyShapeApprovalTests
{
    static readonly LlamaConfig Qwen2_05B_Instruct = new()
    {
        ModelType = "qwen2", Architectures = ["Qwen2ForCausalLM"], VocabSize = 151936, HiddenSize = 896, IntermediateSize = 4864,
        NumHiddenLayers = 24, NumAttentionHeads = 14, NumKeyValueHeads = 2, RopeTheta = 1000000, RmsNormEps = 1e-6,
        MaxPositionEmbeddings = 32768, TieWordEmbeddings = true,
    };

    static readonly LlamaConfig Llama3_8B = new()
    {
        ModelType = "llama", Architectures = ["LlamaForCausalLM"], VocabSize = 128256, HiddenSize = 4096, IntermediateSize = 14336,
        NumHiddenLayers = 32, NumAttentionHeads = 32, NumKeyValueHeads = 8, RopeTheta = 500000, RmsNormEps = 1e-5,
        MaxPositionEmbeddings = 8192, TieWordEmbeddings = false,
    };

    static readonly ChatGlmConfig ChatGlm6B = new()
    {
        Architectures = ["ChatGLMModel"], VocabSize = 130528, HiddenSize = 4096, InnerHiddenSize = 16384, NumLayers = 28,
        NumAttentionHeads = 32, BosTokenId = 130004, EosTokenId = 130005, MaskTokenId = 130000, GMaskTokenId = 130001,
    };

    [Fact]
    public void ChatGlm_6B_state_dict_matches_the_approved_key_list()
    {
        using var model = new ChatGlmForConditionalGeneration(ChatGlm6B, torch.device("meta"), torch.ScalarType.Float16);
        ApprovedKeys.Check(model, "chatglm-6b");
    }

    [Theory]
    [InlineData("Qwen2-0.5B-Instruct")]
    [InlineData("Meta-Llama-3-8B")]
    public void State_dict_matches_the_approved_key_list(string name)
    {
        var config = name.StartsWith("Qwen2") ? Qwen2_05B_Instruct : Llama3_8B;
        using var model = new LlamaForCausalLM(config, torch.device("meta"), torch.ScalarType.BFloat16);
        ApprovedKeys.Check(model, name);
    }
}
