using Microsoft.Extensions.Logging.Abstractions;
using Service.Inference.Demo;
using Service.Inference.FillMask;
using Service.Inference.Probes;
using Service.Inference.Projection;
using Service.Tests.Support;
using TorchSharp;

namespace Service.Tests.Inference.Probes;

public sealed class ProbeTests
{
    static readonly Service.Inference.Models.MaskedLmBundle Demo = DemoMaskedLm.Create(torch.CPU, torch.ScalarType.Float32);
    static string MlamaMini => Path.Combine(AppContext.BaseDirectory, "Fixtures", "mlama-mini");

    static LanguageOutcome Outcome(string language, int facts, params string[] correct) => new(language, facts, correct.ToHashSet());

    [Fact]
    public void Acc_and_trans_follow_the_papers_formulas_on_a_hand_computed_set()
    {
        var en = Outcome("en", 4, "a", "b", "c");
        var fr = Outcome("fr", 4, "b", "c", "d");
        var scores = ProbeMetrics.Score(fr, en);
        Assert.Equal(75.0, scores.Accuracy);                 // 3 / 4
        Assert.Equal(50.0, scores.Transferability);          // |{b,c}| / |{a,b,c,d}|
        Assert.Equal(100.0, ProbeMetrics.Score(en, en).Transferability);
        Assert.Equal(0.0, ProbeMetrics.Score(Outcome("ja", 4, "x"), en).Transferability);
        Assert.Null(ProbeMetrics.Score(Outcome("ko", 4), Outcome("en", 4)).Transferability); // 0 / 0
        Assert.Null(ProbeMetrics.Score(fr, null).Transferability);
    }

    [Fact]
    public void The_mlama_reader_reads_the_official_layout()
    {
        var en = MlamaReader.Read(MlamaMini, "en");
        var fr = MlamaReader.Read(MlamaMini, "fr");
        Assert.Equal(4, en.Count);                           // P36 x3, P37 x1; P999 has no facts file
        Assert.Equal(["P36#0", "P36#2", "P37#0"], fr.Select(f => f.Id));
        var spain = Assert.Single(fr, f => f.Id == "P36#2");
        Assert.Equal(("Espagne", "Madrid", "La capitale de [X] est [Y] ."), (spain.Subject, spain.Object, spain.Template));
        Assert.Equal(["Paris", "Berlin", "Madrid", "Rome"], spain.Candidates);
        Assert.Equal(["P36#0"], MlamaReader.Read(MlamaMini, "fr", ["P36"]).Take(1).Select(f => f.Id));
    }

    [Fact]
    public void A_fact_is_correct_exactly_when_its_gold_object_ranks_first_in_fill_mask()
    {
        var projection = new ProjectionService(Demo, new ProjectionOptions { CacheDirectory = Directory.CreateTempSubdirectory().FullName }, NullLogger.Instance);
        var evaluator = new ProbeEvaluator(Demo, projection);
        var engine = new FillMaskEngine(Demo, new FillMaskOptions());
        var facts = MlamaReader.Read(MlamaMini, "en");
        var answers = evaluator.Answer([.. facts.Select(f => evaluator.Prepare(f, project: false))]);
        for (int i = 0; i < facts.Count; i++)
        {
            var f = facts[i];
            var text = f.Template.Replace("[X]", f.Subject).Replace("[Y]", "[MASK]");
            // every candidate here is one token of the demo vocabulary, so fill-mask ranks the same way
            var best = engine.Run([engine.Prepare(new FillMaskQuery(text, TopK: 1, Targets: f.Candidates))])[0].Masks[0].Predictions[0];
            Assert.Equal(best.TokenStr == f.Object, answers[i]);
        }
    }

    [Fact]
    public async Task A_run_reports_english_unprojected_and_other_languages_both_ways()
    {
        var projection = new ProjectionService(Demo, new ProjectionOptions { CacheDirectory = Directory.CreateTempSubdirectory().FullName }, NullLogger.Instance);
        projection.Compute("en", ["Paris is the capital of France.", "The river is long."]);
        projection.Compute("fr", ["Paris est la capitale de la France.", "le fleuve est long."]);
        var facts = MlamaReader.Read(MlamaMini, "en").Concat(MlamaReader.Read(MlamaMini, "fr")).ToList();
        var report = await ProbeRun.EvaluateAsync(new ProbeEvaluator(Demo, projection), projection, Demo.Name, facts,
            work => Task.FromResult(work()), new ProjectionRequest(LirpLayer: 1, LsrpLayer: 3));
        Assert.Equal(["en", "fr"], report.Languages.Select(r => r.Language));
        Assert.Null(report.Languages[0].Projected);
        Assert.Equal(100.0, report.Languages[0].Plain.Transferability ?? 100.0);
        var fr = report.Languages[1];
        Assert.Equal(3, fr.Plain.Facts);
        Assert.NotNull(fr.Projected);
        Assert.Equal(new LayerPair(1, 3, LayerSource.Request), fr.Layers);
        Assert.Contains("| fr | 3 |", report.ToMarkdown());
    }
}
