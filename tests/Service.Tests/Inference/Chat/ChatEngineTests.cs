using Service.Inference;
using Service.Inference.Chat;
using Service.Inference.Demo;
using Service.Inference.Hosting;
using Service.Tests.Support;
using TorchSharp;

namespace Service.Tests.Inference.Chat;

public sealed class ChatEngineTests : IDisposable
{
    readonly ChatBundle _demo = DemoChatModel.Create(torch.CPU, torch.ScalarType.Float32, "chatml") with { DefaultSystem = "Be kind." };

    public void Dispose() => _demo.Model.Dispose();

    string Prompt(params ChatMessage[] messages) =>
        _demo.Tokenizer.Decode(new ChatEngine(_demo, new ChatOptions()).Prepare(new ChatQuery(messages)).Generation.PromptIds);

    [Fact]
    public void The_configured_system_prompt_applies_only_when_a_request_has_none()
    {
        Assert.Equal("system\nBe kind.\nuser\nhi\nassistant\n", Prompt(new ChatMessage(ChatRole.User, "hi")));
        Assert.Equal("system\nBe brief.\nuser\nhi\nassistant\n", Prompt(new(ChatRole.System, "Be brief."), new(ChatRole.User, "hi")));
    }

    [Fact]
    public void Defaults_come_from_the_options_and_the_reply_never_runs_past_the_context()
    {
        var engine = new ChatEngine(_demo, new ChatOptions { MaxTokens = 100_000 });
        var prepared = engine.Prepare(new ChatQuery([new(ChatRole.User, "hi")]));
        Assert.Equal((0.95, 0.75), (prepared.Generation.Sampling.Temperature, prepared.Generation.Sampling.TopP));
        Assert.Equal(_demo.Model.MaxSequenceLength - prepared.Generation.PromptIds.Length, prepared.Generation.MaxNewTokens);
        var error = Assert.Throws<InferenceException>(() => engine.Prepare(new ChatQuery([new(ChatRole.User, "hi")], MaxTokens: 0)));
        Assert.Equal("max_tokens", error.Parameter);
    }
}
