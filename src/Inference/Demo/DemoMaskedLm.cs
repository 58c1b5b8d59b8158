using Service.Inference.Models;
using Service.Inference.Models.Bert;
using Service.Inference.Tokenization;
using TorchSharp;
using static TorchSharp.torch;

namespace Service.Inference.Demo;

/// <summary>
/// The model served when no checkpoint is configured: a tiny BERT with random weights from a fixed
/// seed and a small multilingual vocabulary, so every endpoint works on a fresh machine. Its
/// predictions are meaningless, and every response says it is the demo.
/// </summary>
public static class DemoMaskedLm
{
    public const string Name = "demo-tiny-bert";
    const int Seed = 20231207;

    public static MaskedLmBundle Create(Device device, ScalarType dtype)
    {
        var vocabulary = ReadVocabulary();
        var config = new BertConfig
        {
            Architectures = ["BertForMaskedLM"],
            VocabSize = vocabulary.Length,
            HiddenSize = 64,
            NumHiddenLayers = 4,
            NumAttentionHeads = 4,
            IntermediateSize = 128,
            MaxPositionEmbeddings = 128,
        };
        torch.manual_seed(Seed);
        var model = new BertForMaskedLM(config, device, dtype);
        model.eval();
        var tokenizer = WordPieceMaskedLmTokenizer.FromVocabulary(vocabulary, lowerCase: false, modelMaxLength: config.MaxPositionEmbeddings);
        var fingerprint = $"{Name}-{Seed}-{config.NumHiddenLayers}x{config.HiddenSize}-{Projection.LanguageVectors.Digest(vocabulary)[..8]}";
        return new MaskedLmBundle(Name, IsDemo: true, model, tokenizer, fingerprint);
    }

    static string[] ReadVocabulary()
    {
        using var stream = typeof(DemoMaskedLm).Assembly.GetManifestResourceStream("Service.Inference.Demo.demo-vocab.txt")
            ?? throw new InvalidOperationException("The demo vocabulary is not embedded in the assembly.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }
}
