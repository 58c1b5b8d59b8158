using Service.Benchmarks;

namespace Service.Tests.Benchmarks;

/// <summary>
/// The benchmark program's quick mode (tiny shapes, a few iterations), run in process: every
/// section is there and every figure is a sane positive number. No timing thresholds.
/// </summary>
public sealed class BenchmarkSmokeTests
{
    [Fact]
    public async Task Quick_mode_reports_every_section_with_positive_figures()
    {
        var report = await BenchmarkProgram.RunAsync(BenchmarkSettings.QuickRun, "quick", TextWriter.Null);

        var limits = report.Limits;
        Assert.All([limits.GemmFlopsPerSecond, limits.CopyBytesPerSecond, limits.ReadBytesPerSecond, limits.MatVecBytesPerSecond,
            limits.MatVecBf16BytesPerSecond, limits.MatVecF16BytesPerSecond], Positive);
        var f = report.FillMask;
        Assert.Equal(16, f.QueryTokens);
        Assert.All([f.FlopsPerQuery, f.BytesPerQuery, f.RooflineMs(report.Limits), f.WeightBytes, f.PeakResidentBytes], Positive);
        Assert.All([f.EngineEnglish, f.EngineProjectionOff, f.EngineProjectionOn, f.HttpEnglish, f.HttpProjectionOff, f.HttpProjectionOn],
            l => { Positive(l.P50Ms); Assert.True(l.P95Ms >= l.P50Ms); });
        Assert.Equal([1, 4, 16], f.Throughput.Select(t => t.Clients));
        Assert.All(f.Throughput, t => { Assert.True(t.Requests > 0); Positive(t.PerSecond); Positive(t.GflopsPerSecond); Assert.True(t.MeanBatch >= 1); });
        Assert.All(f.Profile, s => Assert.True(s.Ms > 0, s.Stage));
        Assert.True(f.PeakResidentBytes >= f.WeightBytes);
        Assert.InRange(f.ResidentBeforeLoadBytes, 1, f.PeakResidentBytes);
        Assert.Equal(Enumerable.Range(0, 5).Select(k => k * 10), f.Leak.Samples.Select(s => s.Requests));
        Assert.All(f.Leak.Samples, s => { Positive(s.ResidentBytes); Positive(s.GcHeapBytes); Positive(s.LiveTensors); });

        Assert.Equal(["float32", "bfloat16"], report.Chats.Select(c => c.DType));
        foreach (var chat in report.Chats)
        {
            Assert.InRange(chat.PromptTokens, BenchmarkSettings.QuickRun.ChatPromptTokens - 8, BenchmarkSettings.QuickRun.ChatPromptTokens); // whole words: the budget or just under
            Assert.All([chat.PrefillP50Ms, chat.PrefillFlops, chat.HttpTtftMs, chat.DecodeTokensPerSecond, chat.DecodeBytesPerToken,
                chat.HttpInterToken.P50Ms, chat.WeightBytes, chat.KvBudgetBytes, chat.PeakResidentBytes], Positive);
            Assert.InRange(chat.ResidentBeforeLoadBytes, 1, chat.PeakResidentBytes);
            Assert.Equal([1, 4, 8], chat.Streams.Select(s => s.Streams));
            Assert.All(chat.Streams, s => { Assert.InRange(s.CompletionTokens, s.Streams, s.Streams * BenchmarkSettings.QuickRun.ChatStreamTokens); Positive(s.TokensPerSecond); Positive(s.TtftP50Ms); });
            Assert.All(chat.DecodeProfile.Concat(chat.PrefillProfile), s => Assert.True(s.Ms > 0, s.Stage));
            Assert.InRange(chat.PrefixCache.PromptTokens, BenchmarkSettings.QuickRun.ChatPromptTokens / 2, BenchmarkSettings.QuickRun.ChatPromptTokens);
            Assert.InRange(chat.PrefixCache.CachedTokens, chat.PrefixCache.PromptTokens / 2, chat.PrefixCache.PromptTokens - 1); // turn 9 was found
            Assert.All(chat.PrefixCache.CachedMs.Concat(chat.PrefixCache.UncachedMs), Positive);
        }

        var markdown = report.ToMarkdown();
        foreach (var section in BenchmarkReport.Sections) Assert.Contains(section, markdown);
        Assert.DoesNotContain("NaN", markdown);
        Assert.DoesNotContain("Infinity", markdown);
        Assert.Equal(report.Targets().Count, markdown.Split('\n').Count(l => l.EndsWith("| met |") || l.EndsWith("| **missed** |")));

        var png = report.RenderPlot();
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, png[..4]);
    }

    static void Positive(double value) => Assert.True(double.IsFinite(value) && value > 0, $"{value} is not a positive number");
    static void Positive(long value) => Assert.True(value > 0, $"{value} is not positive");
}
