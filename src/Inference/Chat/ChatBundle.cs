using Service.Inference.Models;

namespace Service.Inference.Chat;

/// <summary>A loaded chat model: decoder, tokenizer, prompt format and the ids that end a reply.</summary>
public sealed record ChatBundle(string Name, bool IsDemo, ICausalLanguageModel Model, IChatTokenizer Tokenizer, IPromptFormat Format, IReadOnlySet<int> EndOfSequenceIds)
{
    /// <summary>The system message of requests that send none (`Models:Chat:SystemPrompt`), or null.</summary>
    public string? DefaultSystem { get; init; }

    /// <summary>The checkpoint's `generation_config.json` sampling values (none for the demo).</summary>
    public GenerationDefaults GenerationDefaults { get; init; } = GenerationDefaults.None;
}
