using Service.Inference.Projection;
using Service.Tests.Support;

namespace Service.Tests.Inference.Projection;

public sealed class BundledCorporaTests
{
    [Fact]
    public void Every_language_of_the_papers_tables_has_at_least_100_parallel_sentences()
    {
        string[] paper = ["en", "zh", "ja", "ko", "vi", "de", "ar", "fr", "es", "ru", "hi", "sl", "sq"];
        Assert.Subset(BundledCorpora.Languages.ToHashSet(), paper.ToHashSet());
        var english = BundledCorpora.Sentences("en")!;
        Assert.True(english.Count >= 100);
        foreach (var language in paper)
        {
            var sentences = BundledCorpora.Sentences(language)!;
            Assert.Equal(english.Count, sentences.Count); // line N means the same in every language
            Assert.All(sentences, s => Assert.False(string.IsNullOrWhiteSpace(s)));
        }
        Assert.Null(BundledCorpora.Sentences("xx"));
    }
}
