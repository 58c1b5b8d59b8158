using System.Text.Json;
using Service.Inference.Checkpoints;

namespace Service.Inference.Chat.Templates;

/// <summary>
/// A checkpoint's own chat template (`chat_template.jinja`, else `chat_template` in
/// tokenizer_config.json: a string, or a list of named templates of which "default" is used) with
/// the variables transformers' `apply_chat_template` passes: `messages`, `add_generation_prompt`,
/// `tools` and `documents` (None), and the tokenizer's special tokens (`bos_token`, `eos_token`, ...).
/// </summary>
public sealed class ChatTemplate
{
    static readonly string[] SpecialTokenNames = ["bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"];

    readonly Template _template;
    readonly Dictionary<string, object?> _variables;

    public string Source { get; }

    /// <summary>The template's own text, as the checkpoint ships it.</summary>
    public string Text { get; }

    ChatTemplate(Template template, string text, string source, Dictionary<string, object?> variables)
    {
        _template = template;
        Text = text;
        Source = source;
        _variables = variables;
    }

    /// <summary>Parses <paramref name="template"/> with the special tokens of a tokenizer_config.json root (or none).</summary>
    /// <exception cref="TemplateSyntaxException">The template is not valid or uses a statement this engine lacks.</exception>
    public static ChatTemplate Create(string template, JsonElement? tokenizerConfig, string source = "chat_template")
    {
        var variables = new Dictionary<string, object?>();
        if (tokenizerConfig is { ValueKind: JsonValueKind.Object } config)
        {
            foreach (var name in SpecialTokenNames)
                if (config.TryGetProperty(name, out var token) && TokenContent(token) is { } content) variables[name] = new TemplateText(content);
            if (config.TryGetProperty("additional_special_tokens", out var extra) && extra.ValueKind == JsonValueKind.Array)
                variables["additional_special_tokens"] = extra.EnumerateArray().Select(TokenContent).Where(c => c is not null).Select(c => (object?)new TemplateText(c!)).ToList();
        }
        return new ChatTemplate(Template.Parse(template), template, source, variables);
    }

    /// <summary>The template of a checkpoint directory, or null when it has none.</summary>
    public static ChatTemplate? Load(string directory)
    {
        using var config = CheckpointDirectory.ReadJson(Path.Combine(directory, "tokenizer_config.json"));
        string? template = null, source = null;
        if (File.Exists(Path.Combine(directory, "chat_template.jinja")))
        {
            source = Path.Combine(directory, "chat_template.jinja");
            template = File.ReadAllText(source);
        }
        else if (config is not null && config.RootElement.TryGetProperty("chat_template", out var configured))
        {
            source = Path.Combine(directory, "tokenizer_config.json") + " (chat_template)";
            template = configured.ValueKind switch
            {
                JsonValueKind.String => configured.GetString(),
                JsonValueKind.Array => configured.EnumerateArray()
                    .FirstOrDefault(t => t.TryGetProperty("name", out var n) && n.GetString() == "default") is { ValueKind: JsonValueKind.Object } named
                    ? named.GetProperty("template").GetString()
                    : throw new CheckpointException($"{source} is a list of templates without one named \"default\"; set Models:Chat:PromptFormat."),
                JsonValueKind.Null => null,
                _ => throw new CheckpointException($"{source} is neither a string nor a list of named templates."),
            };
        }
        if (string.IsNullOrEmpty(template)) return null;
        try
        {
            return Create(template, config?.RootElement, source!);
        }
        catch (TemplateSyntaxException e)
        {
            throw new CheckpointException($"{source}: the chat template cannot be read: {e.Message}. Set Models:Chat:PromptFormat to one of {string.Join(", ", PromptFormats.Names)} to serve this checkpoint without it.");
        }
    }

    /// <summary>A special token as tokenizer_config.json writes it: a string, or an AddedToken object with "content".</summary>
    public static string? TokenContent(JsonElement token) => token.ValueKind switch
    {
        JsonValueKind.String => token.GetString(),
        JsonValueKind.Object when token.TryGetProperty("content", out var c) && c.ValueKind == JsonValueKind.String => c.GetString(),
        _ => null,
    };

    /// <summary>Renders the conversation; message content is marked as such in the result.</summary>
    /// <exception cref="TemplateRuntimeException">The template failed or refused the conversation (raise_exception).</exception>
    public TemplateText Render(IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt)
    {
        var variables = new Dictionary<string, object?>(_variables)
        {
            // transformers passes tools and documents as None when the request has none.
            ["tools"] = null,
            ["documents"] = null,
            ["add_generation_prompt"] = addGenerationPrompt,
            ["messages"] = messages.Select(m => (object?)new TemplateDict
            {
                [new TemplateText("role")] = new TemplateText(RoleName(m.Role)),
                [new TemplateText("content")] = new TemplateText(m.Content, isContent: true),
            }).ToList(),
        };
        return _template.Render(variables);
    }

    static string RoleName(ChatRole role) => role switch
    {
        ChatRole.System => "system",
        ChatRole.User => "user",
        _ => "assistant",
    };
}
