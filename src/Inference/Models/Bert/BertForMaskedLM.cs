using TorchSharp;
using static TorchSharp.torch;

namespace Service.Inference.Models.Bert;

/// <summary>
/// BertForMaskedLM (`bert.*`, `cls.predictions.*`) and XLMRobertaForMaskedLM (`roberta.*`, `lm_head.*`):
/// one encoder, two key layouts, chosen by the config.
/// </summary>
public sealed class BertForMaskedLM : nn.Module, IMaskedLanguageModel, IKernelLayout
{
    readonly BertModel _encoder;
    readonly BertOnlyMLMHead? _bertHead;
    readonly RobertaLMHead? _robertaHead;

    public BertConfig Config { get; }
    public Device Device { get; }

    public BertForMaskedLM(BertConfig config, Device device, ScalarType dtype) : base(nameof(BertForMaskedLM))
    {
        Config = config;
        Device = device;
        _encoder = new BertModel(config, device, dtype);
        if (config.IsRoberta)
        {
            _robertaHead = new RobertaLMHead(config, device, dtype);
            register_module("roberta", _encoder);
            register_module("lm_head", _robertaHead);
        }
        else
        {
            _bertHead = new BertOnlyMLMHead(config, device, dtype);
            register_module("bert", _encoder);
            register_module("cls", _bertHead);
        }
    }

    public int LayerCount => Config.NumHiddenLayers;
    public int HiddenSize => Config.HiddenSize;
    public int VocabSize => Config.VocabSize;
    public int MaxSequenceLength => Config.MaxSequenceLength;

    public Tensor Encode(Tensor inputIds, Tensor attentionMask, HiddenStateIntervention? intervention = null) =>
        _encoder.forward(inputIds, attentionMask, intervention);

    /// <summary>The position ids the embeddings add for token ids [B, T].</summary>
    public Tensor PositionIds(Tensor inputIds) => _encoder.Embeddings.PositionIds(inputIds);

    public Tensor PredictTokens(Tensor hiddenRows)
    {
        var words = _encoder.Embeddings.WordEmbeddings;
        return _bertHead is not null ? _bertHead.forward(hiddenRows, words) : _robertaHead!.forward(hiddenRows, words);
    }

    /// <summary>
    /// The vocabulary matrix (the tied word embeddings, or an untied decoder) column-major on a float32
    /// CPU model: the head multiplies one row per mask by it. The encoder's 16-row products stay
    /// row-major, which is faster for them (see <see cref="KernelLayout"/>), and on the CPU each
    /// layer's query, key and value share one matrix (<see cref="BertSelfAttention.FuseProjections"/>).
    /// </summary>
    public void PrepareKernelLayout()
    {
        foreach (var (name, module) in named_modules())
        {
            if (module is TorchSharp.Modules.Embedding embedding && name.EndsWith("word_embeddings", StringComparison.Ordinal)) KernelLayout.ColumnMajor(embedding);
            else if (module is TorchSharp.Modules.Linear linear && name.EndsWith("decoder", StringComparison.Ordinal)) KernelLayout.ColumnMajor(linear);
            else if (module is BertSelfAttention attention) attention.FuseProjections();
        }
    }

    /// <summary>
    /// Maps a checkpoint key onto this module's state-dict key, or null for keys the task does not
    /// use: the pooler, the NSP head, the old `position_ids` buffer, and the decoder weight/bias
    /// that duplicate the tied word embeddings and the head bias.
    /// </summary>
    public string? ModuleKey(string checkpointKey)
    {
        var key = LegacyLayerNormName(checkpointKey);
        string[] ignored = Config.IsRoberta
            ? ["roberta.pooler.", "roberta.embeddings.position_ids", "lm_head.decoder.bias"]
            : ["bert.pooler.", "cls.seq_relationship.", "bert.embeddings.position_ids", "cls.predictions.decoder.bias"];
        if (ignored.Any(key.StartsWith)) return null;
        if (Config.TieWordEmbeddings && key is "cls.predictions.decoder.weight" or "lm_head.decoder.weight") return null;
        return key;
    }

    /// <summary>Checkpoints from the TensorFlow era name LayerNorm parameters gamma and beta.</summary>
    static string LegacyLayerNormName(string key) =>
        key.EndsWith(".gamma", StringComparison.Ordinal) ? key[..^".gamma".Length] + ".weight"
        : key.EndsWith(".beta", StringComparison.Ordinal) ? key[..^".beta".Length] + ".bias"
        : key;
}
