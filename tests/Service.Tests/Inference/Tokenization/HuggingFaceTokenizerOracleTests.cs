using Service.Inference.Tokenization;
using Service.Inference.Tokenization.HuggingFace;
using Xunit.Abstractions;
using Oracle = Tokenizers.DotNet.Tokenizer;

namespace Service.Tests.Inference.Tokenization;

/// <summary>
/// Every real tokenizer.json against Hugging Face's own Rust tokenizers (NuGet Tokenizers.DotNet, tokenizers
/// 0.22.2): identical ids on every text of the text set, identical decoded text.
/// </summary>
public sealed class HuggingFaceTokenizerOracleTests(ITestOutputHelper output)
{
    [Theory]
    [MemberData(nameof(RealTokenizers.All), MemberType = typeof(RealTokenizers))]
    public void Ids_and_decoded_text_equal_Hugging_Faces(string name)
    {
        var path = RealTokenizers.TokenizerJson(name);
        var ours = HuggingFaceTokenizer.Load(path);
        var oracle = new Oracle(vocabPath: path);
        var failures = new List<string>();
        var texts = RealTokenizers.Texts(path);
        foreach (var text in texts)
        {
            // The oracle encodes as tokenizers' encode(text, add_special_tokens: true) with special tokens recognised.
            var expected = oracle.Encode(text).Select(i => (int)i).ToArray();
            var actual = ours.Encode(text, recognizeSpecialTokens: true, addSpecialTokens: true);
            if (!expected.SequenceEqual(actual))
                failures.Add($"encode {Show(text)}: HF [{string.Join(", ", expected)}], ours [{string.Join(", ", actual)}]");
            var expectedText = oracle.Decode([.. expected.Select(i => (uint)i)]);
            var actualText = ours.Decode(expected);
            if (expectedText != actualText)
                failures.Add($"decode {Show(text)}: HF {Show(expectedText)}, ours {Show(actualText)}");
        }
        output.WriteLine($"{name}: {texts.Count} texts, {failures.Count} differences");
        Assert.True(failures.Count == 0, $"{name}: {failures.Count} of {texts.Count} texts differ:\n" + string.Join("\n", failures.Take(15)));
    }

    static string Show(string text) => System.Text.Json.JsonSerializer.Serialize(text.Length > 80 ? text[..80] + "..." : text);
}
