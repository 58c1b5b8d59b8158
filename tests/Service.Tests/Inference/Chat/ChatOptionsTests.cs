using Microsoft.Extensions.Configuration;
using Service.Inference.Chat;
using Service.Tests.Support;

namespace Service.Tests.Inference.Chat;

public sealed class ChatOptionsTests
{
    [Fact]
    public void Sampling_is_unset_so_the_checkpoint_or_SoulChat_decides()
    {
        var options = new ChatOptions();
        Assert.Equal((null, null, null, null, 512, 1536), (options.Temperature, options.TopP, options.TopK, options.RepetitionPenalty, options.MaxTokens, options.MaxInputTokens));
        Assert.Equal((0.95, 0.75), (ChatOptions.SoulChatTemperature, ChatOptions.SoulChatTopP));
    }

    [Fact]
    public void Configured_crisis_phrases_replace_the_defaults()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Chat:Safety:CrisisPhrases:0"] = "Lebensmüde",
            ["Chat:Safety:CrisisPhrases:1"] = "me quiero morir",
        }).Build();
        var options = configuration.GetSection("Chat").Get<ChatOptions>()!;
        Assert.Equal(["Lebensmüde", "me quiero morir"], options.Safety.CrisisPhrases);
        var screen = new SafetyScreen(options.Safety);
        Assert.True(screen.IsCrisis("ich bin LEBENSMÜDE"));
        Assert.False(screen.IsCrisis("I want to kill myself")); // the defaults are gone
    }

    [Theory]
    [InlineData("我真的不想活了", true)]
    [InlineData("I have been thinking about   SUICIDE lately", true)]
    [InlineData("ｋｉｌｌ ｍｙｓｅｌｆ", true)] // full-width letters, NFKC-normalised
    [InlineData("我今天很开心", false)]
    [InlineData("the killer whale", false)]
    public void Default_phrases_match_Chinese_and_English(string text, bool crisis)
    {
        Assert.Equal(crisis, new SafetyScreen(new ChatSafetyOptions()).IsCrisis(text));
    }
}
