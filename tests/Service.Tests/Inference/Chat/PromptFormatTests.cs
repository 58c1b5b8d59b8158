using Service.Inference;
using Service.Inference.Chat;
using Service.Inference.Tokenization;
using Service.Inference.Hosting;
using Service.Tests.Support;

namespace Service.Tests.Inference.Chat;

public sealed class PromptFormatTests
{
    static ChatMessage U(string s) => new(ChatRole.User, s);
    static ChatMessage A(string s) => new(ChatRole.Assistant, s);
    static ChatMessage S(string s) => new(ChatRole.System, s);
    static string Render(string format, params ChatMessage[] messages) => PromptFormats.Get(format).Build(Conversation.From(messages)).Render();

    [Fact]
    public void SoulChat_first_turn()
    {
        Assert.Equal("用户：我睡不着\n心理咨询师：", Render("soulchat", U("我睡不着")));
    }

    [Fact]
    public void SoulChat_multi_turn_with_a_system_message()
    {
        Assert.Equal(
            "你是心理咨询师。\n用户：我睡不着\n心理咨询师：能多说一些吗？\n用户：工作压力大\n心理咨询师：听起来很辛苦。\n用户：是的\n心理咨询师：",
            Render("soulchat", S("你是心理咨询师。"), U("我睡不着"), A("能多说一些吗？"), U("工作压力大"), A("听起来很辛苦。"), U("是的")));
    }

    [Fact]
    public void SoulChat_collapses_runs_of_newlines_in_the_reply()
    {
        Assert.Equal("a\nb\nc", PromptFormats.Get("soulchat").CleanReply("a\n\n\nb\nc"));
    }

    [Fact]
    public void ChatGlm_rounds_count_from_zero()
    {
        Assert.Equal("你好", Render("chatglm", U("你好")));
        Assert.Equal("[Round 0]\n问：你好\n答：你好！\n[Round 1]\n问：我难过\n答：", Render("chatglm", U("你好"), A("你好！"), U("我难过")));
    }

    [Fact]
    public void ChatMl_and_Llama3_templates()
    {
        Assert.Equal(
            "<|im_start|>system\nBe kind.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n<|im_start|>user\nI feel low<|im_end|>\n<|im_start|>assistant\n",
            Render("chatml", S("Be kind."), U("Hi"), A("Hello!"), U("I feel low")));
        Assert.Equal(
            "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe kind.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>" +
            "<|start_header_id|>assistant<|end_header_id|>\n\n",
            Render("llama3", S("Be kind."), U(" Hi\n")));
    }

    [Fact]
    public void ChatMl_ids_equal_the_reference_and_typed_special_text_is_not_a_special_token()
    {
        var tokenizer = HuggingFaceChatTokenizer.Load(Path.Combine(ChatFixtures.Dir(ChatFixtures.Qwen2), "tokenizer.json"), null);
        var conversation = Conversation.From([S("You are kind."), U("Hello"), A("Hi, how are you?"), U("I feel sad <|im_end|>")]);
        var ids = PromptFormats.Get("chatml").Build(conversation).Ids(tokenizer, tokenizerSpecials: false);
        Assert.Equal(ChatFixtures.TokenizerExpected().ChatMlIds, ids);
        Assert.Equal(4, ids.Count(id => id == 302)); // one per message, none from the user's text
    }

    [Fact]
    public void Llama3_ids_insert_special_tokens_by_id()
    {
        var tokenizer = new ByteTokenizer(["<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"]);
        var ids = PromptFormats.Get("llama3").Build(Conversation.From([U("<|eot_id|>")])).Ids(tokenizer, tokenizerSpecials: false);
        int[] expected = [256, 257, .. "user"u8.ToArray().Select(b => (int)b), 258, 10, 10, .. "<|eot_id|>"u8.ToArray().Select(b => (int)b),
            259, 257, .. "assistant"u8.ToArray().Select(b => (int)b), 258, 10, 10];
        Assert.Equal(expected, ids);
    }

    [Fact]
    public void Truncation_drops_the_oldest_whole_turns_and_keeps_system_and_last_message()
    {
        var tokenizer = new ByteTokenizer([]);
        var format = PromptFormats.Get("soulchat");
        var conversation = Conversation.From([S("sys"), U("u1"), A("a1"), U("u2"), A("a2"), U("u3")]);
        int full = format.Build(conversation).Ids(tokenizer, true).Length;
        var whole = ChatPromptBuilder.Build(conversation, format, tokenizer, full);
        Assert.Equal(0, whole.DroppedTurns);

        var one = ChatPromptBuilder.Build(conversation, format, tokenizer, full - 1);
        Assert.Equal(1, one.DroppedTurns);
        Assert.Equal("sys\n用户：u2\n心理咨询师：a2\n用户：u3\n心理咨询师：", tokenizer.Decode(one.Ids));

        int minimal = format.Build(conversation.WithoutOldest(2)).Ids(tokenizer, true).Length;
        Assert.Equal(2, ChatPromptBuilder.Build(conversation, format, tokenizer, minimal).DroppedTurns);
        var error = Assert.Throws<InferenceException>(() => ChatPromptBuilder.Build(conversation, format, tokenizer, minimal - 1));
        Assert.Equal("messages", error.Parameter);
        Assert.Contains($"alone take {minimal} tokens", error.Message);
    }

    [Theory]
    [InlineData("last message must be from the user", "user", "assistant")]
    [InlineData("start with a user message", "system", "assistant", "user")]
    [InlineData("system message may only come first", "user", "system", "user")]
    public void Conversations_that_no_format_can_write_are_refused(string message, params string[] roles)
    {
        var messages = roles.Select(r => new ChatMessage(Enum.Parse<ChatRole>(r, ignoreCase: true), "x")).ToArray();
        var error = Assert.Throws<InferenceException>(() => Conversation.From(messages));
        Assert.Contains(message, error.Message);
    }

    [Fact]
    public void Consecutive_messages_of_one_role_are_joined()
    {
        Assert.Equal("用户：a\nb\n心理咨询师：", Render("soulchat", U("a"), U("b")));
    }
}
