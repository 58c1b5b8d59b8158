namespace Service.Inference.Generation.Guided;

/// <summary>
/// One of a fixed set of byte strings: a guided choice, or the JSON text of an enum value, a const, true,
/// false or null. Each state keeps the options still possible and how many bytes matched.
/// </summary>
public sealed class LiteralMatcher : Matcher
{
    readonly byte[][] _options;
    readonly int _matched;

    public LiteralMatcher(IEnumerable<byte[]> options) : this([.. options.Distinct(ByteStrings.Comparer)], 0) { }

    LiteralMatcher(byte[][] options, int matched) => (_options, _matched) = (options, matched);

    public override bool CanEnd => _options.Any(o => o.Length == _matched);

    public override Step Feed(byte b)
    {
        var alive = _options.Where(o => o.Length > _matched && o[_matched] == b).ToArray();
        if (alive.Length == 0) return Step.Reject;
        return alive.All(o => o.Length == _matched + 1) ? Step.Finished : Step.To(new LiteralMatcher(alive, _matched + 1));
    }
}

static class ByteStrings
{
    public static readonly IEqualityComparer<byte[]> Comparer = EqualityComparer<byte[]>.Create(
        (a, b) => a is null ? b is null : b is not null && a.AsSpan().SequenceEqual(b),
        a => a.Length == 0 ? 0 : HashCode.Combine(a.Length, a[0], a[^1]));
}
