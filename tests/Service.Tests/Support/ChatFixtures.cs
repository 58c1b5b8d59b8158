using System.Text.Json;
using System.Text.Json.Serialization;

namespace Service.Tests.Support;

/// <summary>The committed chat checkpoints of tests/fixtures/chat and their float64 PyTorch reference outputs.</summary>
public static class ChatFixtures
{
    public const string Llama = "llama-tiny";
    public const string Qwen2 = "qwen2-tiny-bf16";
    public const string ChatGlm = "chatglm-tiny-f16";

    public static string Dir(string name) => Path.Combine(AppContext.BaseDirectory, "fixtures", "chat", name);

    public static DecoderExpected Expected(string name) =>
        JsonSerializer.Deserialize<DecoderExpected>(File.ReadAllText(Path.Combine(Dir(name), "expected.json")))!;

    public static TokenizerExpected TokenizerExpected() =>
        JsonSerializer.Deserialize<TokenizerExpected>(File.ReadAllText(Path.Combine(Dir(Qwen2), "tokenizer-expected.json")))!;
}

public sealed record DecoderExpected([property: JsonPropertyName("cases")] IReadOnlyList<DecoderCase> Cases);

public sealed record DecoderCase(
    [property: JsonPropertyName("input_ids")] int[] InputIds,
    [property: JsonPropertyName("logits")] double[][] Logits,
    [property: JsonPropertyName("greedy")] int[] Greedy);

public sealed record TokenizerExpected(
    [property: JsonPropertyName("encode")] IReadOnlyList<EncodeCase> Encode,
    [property: JsonPropertyName("chatml_ids")] int[] ChatMlIds);

public sealed record EncodeCase([property: JsonPropertyName("text")] string Text, [property: JsonPropertyName("ids")] int[] Ids);
