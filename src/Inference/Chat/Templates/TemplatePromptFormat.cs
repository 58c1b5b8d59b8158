using Service.Inference.Hosting;
using Service.Inference.Tokenization; // IChatTokenizer moves here (issue 10)

namespace Service.Inference.Chat.Templates;

/// <summary>
/// The checkpoint's own chat template as a prompt format: the prompt is exactly the string
/// transformers' `apply_chat_template` renders, and its token ids are those of encoding that string,
/// with one intended difference: message content is always plain text. Template text is split at
/// the tokenizer's added tokens (each becomes its id, so a template's `{{ bos_token }}` is the BOS id
/// once); the content, wherever filters moved it, is encoded as text, so a typed `&lt;|im_end|&gt;` stays
/// characters. The template writes its own BOS, so the tokenizer adds none. Added tokens the template
/// writes that the tokenizer does not mark special (DeepSeek-V3's `&lt;｜User｜&gt;`) are role markers all the
/// same: <see cref="ContentTokenizer"/> keeps them as text in content, where Hugging Face would make them ids.
/// </summary>
public sealed class TemplatePromptFormat : IPromptFormat
{
    readonly ChatTemplate _template;
    readonly Dictionary<char, string[]> _tokensByFirstChar;

    public string Name => "template";
    public IReadOnlyList<string> SpecialTokens { get; }
    public IReadOnlyList<string> EndOfTurnTokens { get; }
    public IReadOnlyList<string> StopStrings => [];
    public bool UsesTokenizerSpecials => false;
    public ChatTemplate Template => _template;

    /// <summary>
    /// The added tokens this template writes: those its text spells out (every branch, tool-call markers
    /// included) and those a rendered exchange writes (`{{ bos_token }}`). What a user types never becomes one.
    /// </summary>
    public IReadOnlyList<string> WrittenTokens { get; }

    /// <param name="addedTokens">Tokens the tokenizer encodes as single ids (its added tokens that <see cref="IChatTokenizer.SpecialTokenId"/> resolves).</param>
    public TemplatePromptFormat(ChatTemplate template, IEnumerable<string> addedTokens)
    {
        _template = template;
        // Longest first, as Hugging Face matches added tokens (`<|im_start|>` before `<|im`).
        _tokensByFirstChar = addedTokens.Where(t => t.Length > 0).Distinct()
            .GroupBy(t => t[0])
            .ToDictionary(g => g.Key, g => g.OrderByDescending(t => t.Length).ToArray());
        (SpecialTokens, EndOfTurnTokens) = Probe();
        WrittenTokens = [.. _tokensByFirstChar.Values.SelectMany(t => t)
            .Where(t => template.Text.Contains(t, StringComparison.Ordinal)).Union(SpecialTokens).Order(StringComparer.Ordinal)];
    }

    /// <summary>The tokenizer to encode prompts with: plain text never becomes one of <see cref="WrittenTokens"/>.</summary>
    public IChatTokenizer ContentTokenizer(IChatTokenizer tokenizer) =>
        tokenizer is HuggingFaceChatTokenizer hf ? hf.KeepingAsText(WrittenTokens) : tokenizer;

    /// <summary>The format for a tokenizer: template text splits at the tokenizer's added tokens.</summary>
    public static TemplatePromptFormat For(ChatTemplate template, IChatTokenizer tokenizer) =>
        new(template, tokenizer.AddedTokenTexts.Where(t => tokenizer.SpecialTokenId(t) is not null));

    public Prompt Build(Conversation conversation)
    {
        TemplateText rendered;
        try
        {
            rendered = _template.Render(Messages(conversation), addGenerationPrompt: true);
        }
        catch (TemplateRaisedException e)
        {
            throw InferenceException.Invalid($"messages: the model's chat template refuses this conversation: {e.Message}", "messages");
        }
        catch (TemplateRuntimeException e)
        {
            throw new InferenceException(InferenceErrorKind.Backend,
                $"the model's chat template ({_template.Source}) failed: {e.Message}. Set Models:Chat:PromptFormat to serve the model with a built-in format.");
        }
        return Split(rendered);
    }

    public string CleanReply(string text) => text;

    /// <summary>
    /// The conversation as transformers' messages: system (if any), the turns, the new user message; several
    /// messages of one role in a row stay separate messages, as the request sent them.
    /// </summary>
    public static IReadOnlyList<ChatMessage> Messages(Conversation c)
    {
        var messages = new List<ChatMessage>();
        void Add(ChatRole role, string text, IReadOnlyList<string>? parts) =>
            messages.AddRange(ConversationParts.Of(text, parts).Select(p => new ChatMessage(role, p)));
        if (c.System is not null) Add(ChatRole.System, c.System, c.Parts?.System);
        for (int i = 0; i < c.Turns.Count; i++)
        {
            var parts = c.Parts is { } p && p.Turns.Count == c.Turns.Count ? p.Turns[i] : default;
            Add(ChatRole.User, c.Turns[i].User, parts.User);
            Add(ChatRole.Assistant, c.Turns[i].Assistant, parts.Assistant);
        }
        Add(ChatRole.User, c.LastUser, c.Parts?.LastUser);
        return messages;
    }

    /// <summary>Template text split at added tokens; content characters never start or join one.</summary>
    public Prompt Split(TemplateText rendered)
    {
        var pieces = new List<PromptPiece>();
        var text = new System.Text.StringBuilder();
        string s = rendered.Text;
        for (int i = 0; i < s.Length;)
        {
            if (!rendered.IsContent(i) && MatchAt(rendered, i) is { } token)
            {
                if (text.Length > 0) pieces.Add(PromptPiece.Plain(text.ToString()));
                text.Clear();
                pieces.Add(PromptPiece.Special(token));
                i += token.Length;
                continue;
            }
            text.Append(s[i++]);
        }
        if (text.Length > 0) pieces.Add(PromptPiece.Plain(text.ToString()));
        return new Prompt(pieces);
    }

    string? MatchAt(TemplateText rendered, int i)
    {
        if (!_tokensByFirstChar.TryGetValue(rendered.Text[i], out var candidates)) return null;
        foreach (var token in candidates)
        {
            if (i + token.Length > rendered.Length || string.CompareOrdinal(rendered.Text, i, token, 0, token.Length) != 0) continue;
            bool allTemplate = true;
            for (int k = i; k < i + token.Length && allTemplate; k++) allTemplate = !rendered.IsContent(k);
            if (allTemplate) return token;
        }
        return null;
    }

    /// <summary>
    /// Renders a short exchange that ends with an assistant message: the added tokens the template
    /// writes, and those right after the assistant's content (its end of turn: `&lt;|im_end|&gt;`,
    /// `&lt;|eot_id|&gt;`, `&lt;end_of_turn&gt;`), where generation must stop.
    /// </summary>
    (IReadOnlyList<string> Used, IReadOnlyList<string> EndOfTurn) Probe()
    {
        TemplateText rendered;
        try
        {
            rendered = _template.Render(
                [new ChatMessage(ChatRole.User, "Hello."), new ChatMessage(ChatRole.Assistant, "Hi.")], addGenerationPrompt: false);
        }
        catch (TemplateRuntimeException)
        {
            return ([], []);
        }
        var pieces = Split(rendered).Pieces;
        var used = pieces.Where(p => p.IsSpecial).Select(p => p.Text).Distinct().ToList();
        int lastContent = -1;
        for (int i = rendered.Length - 1; i >= 0 && lastContent < 0; i--) if (rendered.IsContent(i)) lastContent = i;
        // Walk the pieces to the one holding the assistant's last content character, then take the first added token after it.
        int offset = 0, index = 0;
        for (; index < pieces.Count; index++)
        {
            offset += pieces[index].Text.Length;
            if (offset > lastContent) break;
        }
        var after = pieces.Skip(index + 1).SkipWhile(p => !p.IsSpecial && string.IsNullOrWhiteSpace(p.Text)).FirstOrDefault();
        string[] endOfTurn = lastContent >= 0 && after.IsSpecial && string.IsNullOrWhiteSpace(rendered.Text[(lastContent + 1)..offset]) ? [after.Text] : [];
        return (used, endOfTurn);
    }
}
