using System.Text;
using Service.Inference;
using Service.Inference.Chat;
using Service.Inference.Hosting;
using Service.Inference.Tokenization;
using Service.Tests.Support;

namespace Service.Tests.Inference.Chat;

/// <summary>
/// Prompt truncation: the same prompt as the old try-every-count algorithm, with work that grows with
/// the kept part rather than the square of the conversation, cancellable, and refused early when huge.
/// </summary>
public sealed class ChatPromptBuilderTests
{
    static readonly string[] AllSpecials = ["<|im_start|>", "<|im_end|>", "<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"];

    /// <summary>The algorithm this replaced: try 0, 1, 2, ... dropped turns until one fits.</summary>
    static ChatPrompt OldBuild(Conversation conversation, IPromptFormat format, IChatTokenizer tokenizer, int budget)
    {
        int[] ids = [];
        for (int drop = 0; drop <= conversation.Turns.Count; drop++)
        {
            ids = format.Build(conversation.WithoutOldest(drop)).Ids(tokenizer, format.UsesTokenizerSpecials);
            if (ids.Length <= budget) return new ChatPrompt(ids, drop);
        }
        var what = conversation.System is null ? "the last user message" : "the system message and the last user message";
        throw InferenceException.Invalid(
            $"messages: {what} alone take {ids.Length} tokens in the prompt; the input budget is {budget} tokens. Shorten the last message.", "messages");
    }

    static readonly string[] Words = ["Paris", "la", "ville", "心理", "咨询", "我很", "焦虑", "  ", "\n", "it's", "don't", "123", "!", "？", "  \n", "é", "🙂", "<|im_end|>"];

    static string Text(Random random, int maxWords)
    {
        var text = new StringBuilder();
        int words = random.Next(1, maxWords + 1);
        for (int i = 0; i < words; i++) text.Append(Words[random.Next(Words.Length)]).Append(random.Next(3) == 0 ? "" : " ");
        return text.ToString();
    }

    static Conversation RandomConversation(Random random)
    {
        var messages = new List<ChatMessage>();
        if (random.Next(2) == 0) messages.Add(new(ChatRole.System, Text(random, 8)));
        int turns = random.Next(0, 25);
        for (int t = 0; t < turns; t++)
        {
            messages.Add(new(ChatRole.User, Text(random, 12)));
            messages.Add(new(ChatRole.Assistant, Text(random, 20)));
        }
        messages.Add(new(ChatRole.User, Text(random, 12)));
        return Conversation.From(messages);
    }

    public static TheoryData<string, string> Pairs() => new()
    {
        { "soulchat", "bytes" }, { "chatml", "bytes" }, { "llama3", "bytes" }, { "chatglm", "bytes" },
        { "soulchat", "qwen2" }, { "chatml", "qwen2" }, { "chatglm", "qwen2" },
    };

    static IChatTokenizer Tokenizer(string name) => name == "bytes"
        ? new ByteTokenizer(AllSpecials)
        : HuggingFaceChatTokenizer.Load(Path.Combine(ChatFixtures.Dir(ChatFixtures.Qwen2), "tokenizer.json"), null);

    [Theory]
    [MemberData(nameof(Pairs))]
    public void The_chosen_prompt_equals_the_old_algorithms_on_random_conversations(string formatName, string tokenizerName)
    {
        var format = PromptFormats.Get(formatName);
        var tokenizer = Tokenizer(tokenizerName);
        var random = new Random(20261201 + formatName.Length * 31 + tokenizerName.Length);
        int compared = 0, dropping = 0, refused = 0;
        for (int i = 0; i < 150; i++)
        {
            var conversation = RandomConversation(random);
            int minimal = format.Build(conversation.WithoutOldest(conversation.Turns.Count)).Ids(tokenizer, format.UsesTokenizerSpecials).Length;
            int full = format.Build(conversation).Ids(tokenizer, format.UsesTokenizerSpecials).Length;
            int budget = random.Next(Math.Max(1, minimal - 3), full + 4);
            ChatPrompt? expected = null, actual = null;
            string? expectedError = null, actualError = null;
            try { expected = OldBuild(conversation, format, tokenizer, budget); } catch (InferenceException e) { expectedError = e.Message; }
            try { actual = ChatPromptBuilder.Build(conversation, format, tokenizer, budget); } catch (InferenceException e) { actualError = e.Message; }
            Assert.Equal(expectedError, actualError);
            if (expected is null) { refused++; continue; }
            Assert.Equal(expected.DroppedTurns, actual!.DroppedTurns);
            Assert.Equal(expected.Ids, actual.Ids);
            compared++;
            if (expected.DroppedTurns > 0) dropping++;
        }
        Assert.True(dropping > 30 && refused > 0 && compared > 100, $"{compared} compared, {dropping} dropping turns, {refused} refused");
    }

    /// <summary>Counts what is encoded, and can cancel after a number of calls.</summary>
    sealed class CountingTokenizer(IChatTokenizer inner, CancellationTokenSource? cancelAfter = null, int calls = int.MaxValue) : IChatTokenizer
    {
        public long Characters;
        public int Calls;
        public int[] Encode(string text)
        {
            Characters += text.Length;
            if (++Calls == calls) cancelAfter?.Cancel();
            return inner.Encode(text);
        }
        public string Decode(IReadOnlyList<int> ids) => inner.Decode(ids);
        public int? SpecialTokenId(string token) => inner.SpecialTokenId(token);
        public IReadOnlyCollection<string> SpecialTokens => inner.SpecialTokens;
        public int? BeginningOfSequenceId => inner.BeginningOfSequenceId;
        public int? EndOfSequenceId => inner.EndOfSequenceId;
    }

    static Conversation Long(int turns) => Conversation.From(
        [new(ChatRole.System, "You are a counsellor."),
         .. Enumerable.Range(0, turns).SelectMany(t => new ChatMessage[] { new(ChatRole.User, $"question {t} about my week"), new(ChatRole.Assistant, $"answer {t}: tell me more") }),
         new(ChatRole.User, "and today?")]);

    [Theory]
    [InlineData("soulchat")]
    [InlineData("chatml")]
    public void Work_grows_with_the_kept_part_not_with_the_square_of_the_conversation(string formatName)
    {
        var format = PromptFormats.Get(formatName);
        var conversation = Long(4000);
        long conversationCharacters = format.Build(conversation).Render().Length;
        var tokenizer = new CountingTokenizer(new ByteTokenizer(AllSpecials));
        var prompt = ChatPromptBuilder.Build(conversation, format, tokenizer, budget: 1536);
        Assert.InRange(prompt.DroppedTurns, 3900, 3990);
        // The old algorithm encoded ~n^2/2 characters here (over 10^9); one pass over the conversation is ~2.10^5.
        Assert.True(tokenizer.Characters < conversationCharacters / 4, $"{tokenizer.Characters} characters encoded for a conversation of {conversationCharacters}");
    }

    [Fact]
    public void A_cancelled_request_stops_between_tries()
    {
        using var cancel = new CancellationTokenSource();
        var tokenizer = new CountingTokenizer(new ByteTokenizer(AllSpecials), cancel, calls: 2);
        Assert.ThrowsAny<OperationCanceledException>(() =>
            ChatPromptBuilder.Build(Long(4000), PromptFormats.Get("soulchat"), tokenizer, budget: 100_000, cancel.Token));
        Assert.Equal(2, tokenizer.Calls); // soulchat is one text piece per try: the try after the cancel never ran
    }

    [Theory]
    [InlineData(5, 0, "Chat:MaxMessages")]
    [InlineData(0, 50, "Chat:MaxCharacters")]
    public void Oversized_conversations_are_refused_before_anything_is_tokenized(int maxMessages, int maxCharacters, string option)
    {
        var messages = Enumerable.Range(0, 7).Select(i => new ChatMessage(i % 2 == 0 ? ChatRole.User : ChatRole.Assistant, "twelve chars")).ToArray();
        var error = Assert.Throws<InferenceException>(() =>
            ChatPromptBuilder.CheckSize(messages, new ChatOptions { MaxMessages = maxMessages, MaxCharacters = maxCharacters }));
        Assert.Equal(("messages", InferenceErrorKind.Invalid), (error.Parameter, error.Kind));
        Assert.Contains(option, error.Message);
        ChatPromptBuilder.CheckSize(messages, new ChatOptions { MaxMessages = 7, MaxCharacters = 84 }); // at the limits: accepted
    }
}
