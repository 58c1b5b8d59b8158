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
    public static MaskedLmBundle Load(string directory, Device device, ScalarType dtype) => Load(CheckpointDirectory.Open(directory), device, dtype);

    /// <summary>A BERT, RoBERTa or XLM-R masked LM (which family: <see cref="ModelRegistry"/>).</summary>
    public static MaskedLmBundle Load(CheckpointDirectory checkpoint, Device device, ScalarType dtype)
    {
        var directory = checkpoint.Path;
        var config = checkpoint.ReadConfig<BertConfig>();
        config.Validate(checkpoint.File("config.json"));

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
