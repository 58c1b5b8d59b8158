using System.Text.Json;
using Service.Inference.Checkpoints;
using Service.Inference.Models.Bert;
using Service.Inference.Tokenization;
using static TorchSharp.torch;

namespace Service.Inference.Models;

/// <summary>A loaded masked LM with its tokenizer: what the host serves for fill-mask.</summary>
public sealed record MaskedLmBundle(string Name, bool IsDemo, IMaskedLanguageModel Model, IMaskedLmTokenizer Tokenizer, string Fingerprint)
    : IProbedModel
{
    /// <summary>Longest input in tokens, special tokens included: the stricter of model and tokenizer.</summary>
    public int MaxSequenceLength => Math.Min(Model.MaxSequenceLength, Tokenizer.ModelMaxLength ?? int.MaxValue);

    IHiddenStateModel IProbedModel.Model => Model;
    public int PadId => Tokenizer.PadId;
    public int[] EncodeSentence(string text) => Tokenizer.Encode(text);
}

public static class MaskedLanguageModelLoader
{
    static readonly string[] Supported = ["BertForMaskedLM", "XLMRobertaForMaskedLM", "RobertaForMaskedLM"];

    public static MaskedLmBundle Load(string directory, Device device, ScalarType dtype)
    {
        var checkpoint = CheckpointDirectory.Open(directory);
        var config = checkpoint.ReadConfig<BertConfig>();
        var configFile = checkpoint.File("config.json");
        if (config.Architectures.Length > 0 && !config.Architectures.Any(Supported.Contains))
            throw new CheckpointException($"{configFile}: architectures [{string.Join(", ", config.Architectures)}] is not a masked LM this service serves ({string.Join(", ", Supported)}).");
        config.Validate(configFile);

        var tokenizer = LoadTokenizer(checkpoint, config);
        if (tokenizer.VocabSize > config.VocabSize)
            throw new CheckpointException($"{directory}: the tokenizer has {tokenizer.VocabSize} tokens but config.json vocab_size is {config.VocabSize}.");

        var model = new BertForMaskedLM(config, device, dtype);
        WeightLoader.LoadNew(model, checkpoint, model.ModuleKey);
        var name = Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(directory)));
        return new MaskedLmBundle(name, IsDemo: false, model, tokenizer, CheckpointFingerprint.Of(checkpoint));
    }

    static IMaskedLmTokenizer LoadTokenizer(CheckpointDirectory checkpoint, BertConfig config)
    {
        using var tokenizerConfig = CheckpointDirectory.ReadJson(checkpoint.File("tokenizer_config.json"));
        JsonElement? settings = tokenizerConfig?.RootElement;
        if (config.IsRoberta)
        {
            if (!checkpoint.Has("sentencepiece.bpe.model"))
                throw new CheckpointException($"{checkpoint.Path} has no sentencepiece.bpe.model, which an XLM-R checkpoint needs.");
            return SentencePieceMaskedLmTokenizer.Load(checkpoint.File("sentencepiece.bpe.model"), settings);
        }
        if (!checkpoint.Has("vocab.txt"))
            throw new CheckpointException($"{checkpoint.Path} has no vocab.txt, which a BERT checkpoint needs.");
        return WordPieceMaskedLmTokenizer.Load(checkpoint.File("vocab.txt"), settings);
    }
}
