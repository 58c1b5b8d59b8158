using Service.Benchmarks;
using System.Text.Json;
using System.Text.Json.Serialization;
using Service.Inference.Chat;
using Service.Inference.Tokenization;
using Service.Tests.Support;
using TorchSharp;

namespace Service.Tests.Inference.Tokenization;

/// <summary>ChatGLM-6B's tokenizer and prompt on the ChatGLM fixture, against generate.py's SentencePiece reference.</summary>
public sealed class ChatGlmTokenizerTests
{
    public sealed record GlmExpected(
        [property: JsonPropertyName("encode")] IReadOnlyList<EncodeCase> Encode,
        [property: JsonPropertyName("chatglm_prompt_ids")] int[] PromptIds,
        [property: JsonPropertyName("greedy_reply_ids")] int[] GreedyReplyIds);

    static GlmExpected Expected() =>
        JsonSerializer.Deserialize<GlmExpected>(File.ReadAllText(Path.Combine(ChatFixtures.Dir(ChatFixtures.ChatGlm), "tokenizer-expected.json")))!;

    static ChatGlmTokenizer Load() => ChatGlmTokenizer.Load(
        Path.Combine(ChatFixtures.Dir(ChatFixtures.ChatGlm), "ice_text.model"), Path.Combine(ChatFixtures.Dir(ChatFixtures.ChatGlm), "tokenizer_config.json"));

    [Fact]
    public void Encoding_applies_ChatGLMs_preprocessing_and_decoding_undoes_it()
    {
        var tokenizer = Load();
        foreach (var c in Expected().Encode)
        {
            Assert.Equal(c.Ids, tokenizer.Encode(c.Text));
            if (!c.Text.Contains('[')) Assert.Equal(c.Text, tokenizer.Decode(c.Ids));
        }
    }

    [Fact]
    public void Typed_special_tokens_stay_text_and_prompts_end_with_gmask_sop()
    {
        var tokenizer = Load();
        var ids = tokenizer.Encode("[gMASK] <sop> <eop>");
        Assert.DoesNotContain(ids, id => id is 299 or 300 or 301);
        Assert.Equal([299, 300], tokenizer.EndOfPromptIds);
        Assert.Equal(301, tokenizer.EndOfSequenceId);
    }

    [Fact]
    public void The_chatglm_prompt_and_greedy_reply_equal_the_reference()
    {
        var bundle = ChatModelLoader.Load(ChatFixtures.Dir(ChatFixtures.ChatGlm), null, torch.CPU, torch.ScalarType.Float32);
        using var model = bundle.Model;
        Assert.Equal("chatglm", bundle.Format.Name);
        var engine = new ChatEngine(bundle, new ChatOptions());
        var expected = Expected();
        var prepared = engine.Prepare(new ChatQuery(
            [new(ChatRole.User, "你好"), new(ChatRole.Assistant, "你好！"), new(ChatRole.User, "我难过")], Temperature: 0, MaxTokens: 24));
        Assert.Equal(expected.PromptIds, prepared.Generation.PromptIds);
        var result = engine.Generate(prepared, _ => { }, CancellationToken.None);
        Assert.Equal(bundle.Tokenizer.Decode(expected.GreedyReplyIds), result.Text);
        Assert.Equal(expected.GreedyReplyIds.Length, result.CompletionTokens);
    }
}
