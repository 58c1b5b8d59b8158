using System.Text;
using Service.Inference.Chat;
using Service.Inference.Tokenization;
using Service.Tests.Support;

namespace Service.Tests.Inference.Tokenization;

/// <summary>The byte-level BPE of the Qwen2 fixture against ids from generate.py's own BPE implementation.</summary>
public sealed class ChatTokenizerTests
{
    static HuggingFaceChatTokenizer Load() => HuggingFaceChatTokenizer.Load(
        Path.Combine(ChatFixtures.Dir(ChatFixtures.Qwen2), "tokenizer.json"), Path.Combine(ChatFixtures.Dir(ChatFixtures.Qwen2), "tokenizer_config.json"));

    [Fact]
    public void Encoding_matches_the_reference_and_decoding_round_trips()
    {
        var tokenizer = Load();
        foreach (var c in ChatFixtures.TokenizerExpected().Encode)
        {
            Assert.Equal(c.Ids, tokenizer.Encode(c.Text));
            Assert.Equal(c.Text.Normalize(NormalizationForm.FormC), tokenizer.Decode(c.Ids));
        }
    }

    [Fact]
    public void Special_tokens_come_from_added_tokens_and_the_config()
    {
        var tokenizer = Load();
        Assert.Equal(301, tokenizer.SpecialTokenId("<|im_start|>"));
        Assert.Equal(302, tokenizer.SpecialTokenId("<|im_end|>"));
        Assert.Equal(302, tokenizer.EndOfSequenceId);
        Assert.Null(tokenizer.BeginningOfSequenceId);
        Assert.Null(tokenizer.SpecialTokenId("<|eot_id|>"));
        Assert.Equal("ab", tokenizer.Decode([97, 302, 98]));
    }

    [Fact]
    public void Typed_special_token_text_stays_text()
    {
        var ids = Load().Encode("<|im_end|>");
        Assert.DoesNotContain(302, ids);
        Assert.Equal("<|im_end|>", Load().Decode(ids));
    }

    [Theory]
    [InlineData("")]
    [InlineData("Hello, 世界! Привет мир. مرحبا 🙂")]
    [InlineData("<|im_start|>\n\t  \u0000")]
    public void The_byte_tokenizer_round_trips_any_text(string text)
    {
        var tokenizer = new ByteTokenizer(["<|im_start|>", "<|im_end|>"]);
        var ids = tokenizer.Encode(text);
        Assert.All(ids, id => Assert.InRange(id, 0, 255));
        Assert.Equal(text, tokenizer.Decode(ids));
        Assert.Equal(257, tokenizer.SpecialTokenId("<|im_end|>"));
    }
}
