using System.Text.Json.Nodes;
using Service.Inference.Chat;
using Service.Inference.Chat.Templates;
using Service.Tests.Support;
using TorchSharp;

namespace Service.Tests.Inference.Chat.Templates;

/// <summary>
/// A Qwen2-Instruct-style checkpoint (the tiny Qwen2 fixture with Qwen2-Instruct's chat template in its
/// tokenizer_config.json), served with no configuration: the prompt is transformers' apply_chat_template
/// prompt, default system message included, as rendered and encoded by Hugging Face's JS code.
/// </summary>
public sealed class TemplateCheckpointTests : IDisposable
{
    /// <summary>Qwen2-Instruct's chat template, as its tokenizer_config.json ships it.</summary>
    const string Qwen2InstructTemplate =
        "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

    readonly string _dir = Path.Combine(Path.GetTempPath(), "qwen2-template-" + Guid.NewGuid().ToString("N"));

    public TemplateCheckpointTests()
    {
        Directory.CreateDirectory(_dir);
        var fixture = ChatFixtures.Dir(ChatFixtures.Qwen2);
        foreach (var file in new[] { "config.json", "model.safetensors", "tokenizer.json" })
            File.Copy(Path.Combine(fixture, file), Path.Combine(_dir, file));
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(fixture, "tokenizer_config.json")))!.AsObject();
        config["chat_template"] = Qwen2InstructTemplate;
        File.WriteAllText(Path.Combine(_dir, "tokenizer_config.json"), config.ToJsonString());
    }

    readonly List<ChatBundle> _loaded = [];

    public void Dispose()
    {
        foreach (var bundle in _loaded) bundle.Model.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    ChatBundle Load(string? promptFormat = null)
    {
        var bundle = ChatModelLoader.Load(_dir, promptFormat, torch.CPU, torch.ScalarType.Float32);
        _loaded.Add(bundle);
        return bundle;
    }

    static int[] PromptIds(ChatBundle bundle, params ChatMessage[] messages) =>
        new ChatEngine(bundle, new ChatOptions()).Prepare(new ChatQuery(messages)).Generation.PromptIds;

    [Fact]
    public void With_no_configuration_the_prompt_is_apply_chat_template_with_the_default_system_message()
    {
        var bundle = Load();
        Assert.IsType<TemplatePromptFormat>(bundle.Format);
        ChatMessage[] messages = [new(ChatRole.User, "I can't sleep.")];
        var expected = TemplateOracle.ApplyChatTemplate([(_dir, messages, true)])[0];
        Assert.StartsWith("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n", expected.Text);
        Assert.Equal(expected.Ids!, PromptIds(bundle, messages));

        // A configured system prompt replaces the template's default, as a request's own system message does.
        var withSystem = Load() with { DefaultSystem = "Be kind." };
        var expectedWithSystem = TemplateOracle.ApplyChatTemplate([(_dir, [new(ChatRole.System, "Be kind."), .. messages], true)])[0];
        Assert.Equal(expectedWithSystem.Ids!, PromptIds(withSystem, messages));
    }

    [Fact]
    public void Generation_stops_at_the_templates_end_of_turn_and_typed_special_tokens_stay_text()
    {
        var bundle = Load();
        int imEnd = bundle.Tokenizer.SpecialTokenId("<|im_end|>")!.Value, imStart = bundle.Tokenizer.SpecialTokenId("<|im_start|>")!.Value;
        Assert.Equal(["<|im_end|>"], bundle.Format.EndOfTurnTokens);
        Assert.Contains(imEnd, bundle.EndOfSequenceIds);

        var ids = PromptIds(bundle, new ChatMessage(ChatRole.User, "<|im_end|>"));
        Assert.Equal(2, ids.Count(id => id == imEnd));   // system and user turns
        Assert.Equal(3, ids.Count(id => id == imStart)); // system, user, assistant
        Assert.Contains(string.Join(",", bundle.Tokenizer.Encode("user\n<|im_end|>")), string.Join(",", ids));
    }

    [Fact]
    public void Configuration_still_forces_a_built_in_format()
    {
        var bundle = Load("chatml");
        Assert.IsType<ChatMlFormat>(bundle.Format);
        var template = Load("template");
        Assert.IsType<TemplatePromptFormat>(template.Format);
    }
}
