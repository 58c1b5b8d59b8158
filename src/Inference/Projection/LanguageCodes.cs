using System.Text.RegularExpressions;
using Service.Inference.Hosting;

namespace Service.Inference.Projection;

public static partial class LanguageCodes
{
    public const string English = "en";

    /// <summary>An ISO 639 code such as "fr" or "zh", optionally with a region ("pt-BR"), lower-cased.
    /// The code also names cache files, so nothing but letters, digits and one hyphen is accepted.</summary>
    public static string Normalize(string? language, string parameter = "language")
    {
        if (language is null) return English;
        if (!Tag().IsMatch(language))
            throw InferenceException.Invalid($"{parameter} must be an ISO 639-1 or 639-3 code such as \"en\", \"fr\" or \"zh\".", parameter);
        return language.ToLowerInvariant();
    }

    // \z, not $: "$" also matches before a final line break, which would let "fr\n" name a cache file.
    [GeneratedRegex(@"\A[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})?\z")]
    private static partial Regex Tag();
}
