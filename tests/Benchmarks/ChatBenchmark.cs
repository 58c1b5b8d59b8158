using System.Text;

namespace Service.Benchmarks;

/// <summary>Chat figures (filled in once the chat model is in this build).</summary>
public sealed record ChatStreamPoint(int Streams, double TokensPerSecond);

public sealed record ChatReport(long WeightBytes, long KvBudgetBytes, long PeakResidentBytes, IReadOnlyList<ChatStreamPoint> Streams)
{
    public IEnumerable<TargetCheck> Targets(MachineLimits limits) => [];
    public void AppendMarkdown(StringBuilder md, MachineLimits limits) { }
    public ChartPanel Panel(MachineLimits limits) => new("CHAT", "STREAMS", "TOKENS/S", [], []);
}
