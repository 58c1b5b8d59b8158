using System.ComponentModel.DataAnnotations;

namespace Service.Inference.Chat;

/// <summary>
/// `Chat:*` configuration: sampling defaults and limits. A sampling value left unset (null) falls to the
/// checkpoint's `generation_config.json`, then to SoulChat's values (<see cref="SoulChatTemperature"/>,
/// <see cref="SoulChatTopP"/>); the precedence lives in <see cref="ChatEngine"/>.
/// </summary>
public sealed class ChatOptions
{
    /// <summary>SoulChat's sampling, the service's default when neither configuration nor checkpoint sets one.</summary>
    public const double SoulChatTemperature = 0.95, SoulChatTopP = 0.75;

    [Range(0.0, 2.0)]
    public double? Temperature { get; set; }
    [Range(double.Epsilon, 1.0)]
    public double? TopP { get; set; }
    /// <summary>0 turns top-k off even when the checkpoint sets one.</summary>
    [Range(0, int.MaxValue)]
    public int? TopK { get; set; }
    [Range(double.Epsilon, double.MaxValue)]
    public double? RepetitionPenalty { get; set; }
    /// <summary>Reply length when a request does not say.</summary>
    [Range(1, int.MaxValue)]
    public int MaxTokens { get; set; } = 512;
    /// <summary>Prompt budget in tokens; older turns are dropped to fit.</summary>
    [Range(1, int.MaxValue)]
    public int MaxInputTokens { get; set; } = 1536;
    /// <summary>Most messages a request may send (checked before anything is tokenized; 400 beyond). 0 = no limit.</summary>
    public int MaxMessages { get; set; } = 1000;
    /// <summary>Most characters all messages together may hold (checked before anything is tokenized; 400 beyond). 0 = no limit.</summary>
    public int MaxCharacters { get; set; } = 100_000;
    /// <summary>Stop strings one request may send (OpenAI allows 4).</summary>
    [Range(0, 64)]
    public int MaxStopStrings { get; set; } = 4;
    public ChatSafetyOptions Safety { get; set; } = new();
}
