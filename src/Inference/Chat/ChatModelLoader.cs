using Service.Inference.Chat.Templates;
using Service.Inference.Checkpoints;
using Service.Inference.Models;
using Service.Inference.Models.Llama;
using static TorchSharp.torch;

namespace Service.Inference.Chat;

/// <summary>Loads a chat checkpoint directory: decoder weights, byte-level BPE tokenizer, prompt format, end-of-sequence ids.</summary>
public static class ChatModelLoader
{
    public static ChatBundle Load(string directory, string? promptFormat, Device device, ScalarType dtype)
    {
        var checkpoint = CheckpointDirectory.Open(directory);
        var tokenizer = LoadTokenizer(checkpoint);
        var format = ChooseFormat(promptFormat, tokenizer, directory, TemplateFormat(checkpoint, tokenizer));
        if (format is TemplatePromptFormat template) tokenizer = template.ContentTokenizer(tokenizer);
        var model = CausalLanguageModelLoader.Load(checkpoint, device, dtype);
        var name = Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(directory)));
        return new ChatBundle(name, IsDemo: false, model, tokenizer, format, EndOfSequenceIds(checkpoint, tokenizer, format))
        {
            GenerationDefaults = GenerationDefaults.Read(checkpoint.Path),
        };
    }

    /// <summary>ChatGLM's SentencePiece `ice_text.model`, or a Hugging Face `tokenizer.json` (Qwen2, Llama 2/3, Gemma, Yi, InternLM2, ...).</summary>
    static IChatTokenizer LoadTokenizer(CheckpointDirectory checkpoint)
    {
        var config = checkpoint.Has("tokenizer_config.json") ? checkpoint.File("tokenizer_config.json") : null;
        if (ModelRegistry.Find(checkpoint, ModelSlot.Chat).Name == ModelRegistry.ChatGlm)
        {
            if (!checkpoint.Has("ice_text.model"))
                throw new CheckpointException($"{checkpoint.Path} has no ice_text.model, which a ChatGLM-6B checkpoint needs.");
            return ChatGlmTokenizer.Load(checkpoint.File("ice_text.model"), config);
        }
        if (!checkpoint.Has("tokenizer.json"))
            throw new CheckpointException($"{checkpoint.Path} has no tokenizer.json; chat models need a Hugging Face tokenizer.json (BPE model).");
        return HuggingFaceChatTokenizer.Load(checkpoint.File("tokenizer.json"), config);
    }

    /// <summary>
    /// The checkpoint's chat template as a prompt format (null when it has none): template text is
    /// split at the tokenizer's added tokens (tokenizer.json's and those tokenizer_config.json declares).
    /// </summary>
    static TemplatePromptFormat? TemplateFormat(CheckpointDirectory checkpoint, IChatTokenizer tokenizer)
    {
        var template = ChatTemplate.Load(checkpoint.Path);
        if (template is null) return null;
        var format = TemplatePromptFormat.For(template, tokenizer);
        try
        {
            // Fail at load, not on the first request, when the template uses what this engine lacks.
            format.Build(new Conversation(null, [], "Hello."));
        }
        catch (InferenceException e) when (e.Kind != InferenceErrorKind.Invalid)
        {
            throw new CheckpointException(e.Message);
        }
        return format;
    }

    /// <summary>
    /// The configured format; else the checkpoint's chat template, as transformers' apply_chat_template
    /// uses it; else one the tokenizer reveals (ChatGLM, ChatML, Llama 3); else SoulChat's plain text.
    /// `template` forces the checkpoint's template.
    /// </summary>
    public static IPromptFormat ChooseFormat(string? configured, IChatTokenizer tokenizer, string source, TemplatePromptFormat? template = null)
    {
        IPromptFormat format;
        try
        {
            format = IsTemplate(configured) ? template ?? throw new ArgumentException($"Models:Chat:PromptFormat is 'template' but {source} has no chat template (chat_template in tokenizer_config.json or chat_template.jinja).")
                : !string.IsNullOrWhiteSpace(configured) ? PromptFormats.Get(configured)
                : template is not null ? template
                : tokenizer is ChatGlmTokenizer ? PromptFormats.Get("chatglm")
                : tokenizer.SpecialTokenId("<|im_start|>") is not null ? PromptFormats.Get("chatml")
                : tokenizer.SpecialTokenId("<|eot_id|>") is not null ? PromptFormats.Get("llama3")
                : PromptFormats.Get("soulchat");
        }
        catch (ArgumentException e)
        {
            throw new CheckpointException(e.Message);
        }
        var missing = format.SpecialTokens.Where(t => tokenizer.SpecialTokenId(t) is null).ToList();
        if (missing.Count > 0)
            throw new CheckpointException($"{source}: the {format.Name} prompt format needs the special token(s) {string.Join(", ", missing)}, which the tokenizer does not have; set Models:Chat:PromptFormat to a format of this model.");
        return format;
    }

    static bool IsTemplate(string? configured) => string.Equals(configured?.Trim(), "template", StringComparison.OrdinalIgnoreCase);

    /// <summary>config.json's and generation_config.json's eos_token_id, the tokenizer's eos_token, and the format's end-of-turn tokens.</summary>
    static HashSet<int> EndOfSequenceIds(CheckpointDirectory checkpoint, IChatTokenizer tokenizer, IPromptFormat format)
    {
        var ids = new HashSet<int>();
        if (checkpoint.Config.RootElement.TryGetProperty("eos_token_id", out var configured)) ids.UnionWith(LlamaConfig.TokenIds(configured));
        using (var generation = CheckpointDirectory.ReadJson(checkpoint.File("generation_config.json")))
            if (generation is not null && generation.RootElement.TryGetProperty("eos_token_id", out var eos))
                ids.UnionWith(LlamaConfig.TokenIds(eos));
        if (tokenizer.EndOfSequenceId is int t) ids.Add(t);
        foreach (var token in format.EndOfTurnTokens) ids.Add(tokenizer.SpecialTokenId(token)!.Value);
        return ids;
    }
}
