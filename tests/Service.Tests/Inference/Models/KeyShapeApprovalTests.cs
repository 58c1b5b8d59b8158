using Service.Inference.Models.Bert;
using Service.Tests.Support;
using TorchSharp;

namespace Service.Tests.Inference.Models;

/// <summary>
/// The state-dict keys and shapes of each architecture at its real size, built on the meta device
/// (no memory), against approved lists written from the published checkpoints' key names.
/// </summary>
public sealed class KeyShapeApprovalTests
{
    static readonly BertConfig MultilingualBertBase = new()
    {
        ModelType = "bert", Architectures = ["BertForMaskedLM"], VocabSize = 119547, HiddenSize = 768, NumHiddenLayers = 12,
        NumAttentionHeads = 12, IntermediateSize = 3072, MaxPositionEmbeddings = 512, TypeVocabSize = 2, PadTokenId = 0,
    };

    static readonly BertConfig XlmRobertaBase = new()
    {
        ModelType = "xlm-roberta", Architectures = ["XLMRobertaForMaskedLM"], VocabSize = 250002, HiddenSize = 768, NumHiddenLayers = 12,
        NumAttentionHeads = 12, IntermediateSize = 3072, MaxPositionEmbeddings = 514, TypeVocabSize = 1, PadTokenId = 1, LayerNormEps = 1e-5,
    };

    [Theory]
    [InlineData("bert-base-multilingual-cased")]
    [InlineData("xlm-roberta-base")]
    public void State_dict_matches_the_approved_key_list(string name)
    {
        var config = name.StartsWith("bert") ? MultilingualBertBase : XlmRobertaBase;
        using var model = new BertForMaskedLM(config, torch.device("meta"), torch.ScalarType.Float32);
        ApprovedKeys.Check(model, name);
    }
}
