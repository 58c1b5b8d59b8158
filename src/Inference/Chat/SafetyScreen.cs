using System.Text;
using System.Text.RegularExpressions;

namespace Service.Inference.Chat;

/// <summary>The notices to put before a reply, decided before generation.</summary>
public sealed record SafetyNotices(string? Disclosure, string? CrisisNotice)
{
    /// <summary>Text that precedes the model's reply, or "" when there is none.</summary>
    public string Preamble => string.Concat(new[] { CrisisNotice, Disclosure }.Where(n => !string.IsNullOrEmpty(n)).Select(n => n + "\n\n"));

    /// <summary>A user message matched a crisis phrase (even when no notice text is configured): the request starts first.</summary>
    public bool Crisis { get; init; }
}

/// <summary>
/// Matches user messages against the configured crisis phrases. Matching looks at normalised text
/// (NFKC, lower case, single spaces) and reports only yes or no: the text is never logged or kept.
/// </summary>
public sealed partial class SafetyScreen(ChatSafetyOptions options)
{
    readonly string[] _phrases = [.. options.EffectiveCrisisPhrases.Select(Normalise).Where(p => p.Length > 0)];

    public SafetyNotices Assess(Conversation conversation)
    {
        var users = conversation.Turns.Select(t => t.User).Append(conversation.LastUser);
        bool crisis = users.Any(IsCrisis);
        bool firstReply = conversation.Turns.Count == 0;
        return new SafetyNotices(
            options.DisclosureInFirstReply && firstReply && options.AiDisclosure.Length > 0 ? options.AiDisclosure : null,
            crisis && options.CrisisNotice.Length > 0 ? options.CrisisNotice : null) { Crisis = crisis };
    }

    public bool IsCrisis(string text)
    {
        var normalised = Normalise(text);
        return _phrases.Any(p => normalised.Contains(p, StringComparison.Ordinal));
    }

    static string Normalise(string text) =>
        Whitespace().Replace(text.Normalize(NormalizationForm.FormKC).ToLowerInvariant(), " ").Trim();

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();
}
