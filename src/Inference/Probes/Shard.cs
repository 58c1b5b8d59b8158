using System.Security.Cryptography;
using System.Text;

namespace Service.Inference.Probes;

/// <summary>
/// Shard <c>Index</c> of <c>Count</c> (0-based) of a deterministic split, so that N processes can
/// share an evaluation and <see cref="ShardPart"/>s can be merged into the single run's report.
/// </summary>
public readonly record struct Shard(int Index, int Count)
{
    public static readonly Shard Whole = new(0, 1);

    public static Shard Of(int index, int count) =>
        count < 1 ? throw new ArgumentException($"--shards must be at least 1, not {count}.")
        : index < 0 || index >= count ? throw new ArgumentException($"--shard must be in 0..{count - 1} for --shards {count}, not {index}.")
        : new Shard(index, count);

    /// <summary>Round robin over positions: item p belongs to shard p mod N.</summary>
    public bool Owns(int position) => position % Count == Index;

    /// <summary>
    /// This shard's facts. The split is by fact id (mLAMA's relation and line, the same in every
    /// language), in ordinal order, so a fact and its translations land in the same shard: Trans
    /// compares a language's answers with English's on the same facts.
    /// </summary>
    public IReadOnlyList<ProbeFact> Facts(IReadOnlyList<ProbeFact> facts)
    {
        var shard = this;
        if (shard == Whole) return facts;
        var ids = facts.Select(f => f.Id).Distinct().Order(StringComparer.Ordinal).Where((_, p) => shard.Owns(p)).ToHashSet(StringComparer.Ordinal);
        return [.. facts.Where(f => ids.Contains(f.Id))];
    }

    public override string ToString() => $"{Index} of {Count}";

    /// <summary>
    /// A digest of what a run was asked to do (facts, languages, settings): parts merge only when
    /// they were cut from the same run, not from runs with different --languages or --relations.
    /// </summary>
    public static string Digest(IEnumerable<string> lines) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(string.Join('\n', lines.Order(StringComparer.Ordinal)))))[..16];
}
