namespace Service.Inference.Probes;

/// <summary>
/// One fact to probe in one language: the template's [X] takes the subject, [Y] is where the object
/// goes, and the candidates are the relation's typed object pool (the gold object among them).
/// Id is the same across languages (mLAMA's relation + lineid), which Trans needs.
/// </summary>
public sealed record ProbeFact(string Id, string Relation, string Language, string Template, string Subject, string Object,
    IReadOnlyList<string> Candidates);

/// <summary>Which facts a language got right: its rank-1 answers.</summary>
public sealed record LanguageOutcome(string Language, int Facts, IReadOnlySet<string> Correct);

/// <summary>Acc and Trans of one language (Xu et al. 2023): Acc = |R_l| / |D_l| x 100; Trans = |R_l ∩ R_en| / |R_l ∪ R_en| x 100.</summary>
public sealed record LanguageScores(string Language, int Facts, int Correct, double Accuracy, double? Transferability);

public static class ProbeMetrics
{
    /// <summary>Trans is undefined (null) when neither l nor en answered anything.</summary>
    public static LanguageScores Score(LanguageOutcome language, LanguageOutcome? english)
    {
        double accuracy = language.Facts == 0 ? 0 : 100.0 * language.Correct.Count / language.Facts;
        double? transferability = null;
        if (english is not null)
        {
            int union = language.Correct.Union(english.Correct).Count();
            transferability = union == 0 ? null : 100.0 * language.Correct.Intersect(english.Correct).Count() / union;
        }
        return new LanguageScores(language.Language, language.Facts, language.Correct.Count, accuracy, transferability);
    }
}
