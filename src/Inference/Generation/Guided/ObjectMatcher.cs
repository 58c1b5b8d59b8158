using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Service.Inference.Generation.Guided;

/// <summary>A property of an object schema: its key as written (<c>"name":</c>), whether it is required, its value's matcher.</summary>
public sealed record PropertyRule(string Name, bool Required, Func<Matcher> Value)
{
    public byte[] Key { get; } = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(Name, ObjectMatcher.Compact) + ":");
}

/// <summary>
/// A JSON object with the schema's properties in the schema's order, each optional one present or skipped,
/// every required one present, and no others (compact: no insignificant whitespace, so the model cannot idle on spaces).
/// </summary>
public sealed class ObjectMatcher(PropertyRule[] properties) : Matcher
{
    internal static readonly JsonSerializerOptions Compact = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    enum Phase { Open, First, Key, Value, AfterValue }

    Phase _phase = Phase.Open;
    int _last = -1;          // the index of the last property written
    int[] _keys = [];        // properties whose key is still possible
    int _matched;            // key bytes matched

    ObjectMatcher With(Phase phase, int last, int[]? keys = null, int matched = 0) =>
        new(properties) { _phase = phase, _last = last, _keys = keys ?? [], _matched = matched };

    /// <summary>The properties that may come after <paramref name="last"/>: the following ones up to and including the first required.</summary>
    int[] NextKeys(int last)
    {
        var next = new List<int>();
        for (int i = last + 1; i < properties.Length; i++)
        {
            next.Add(i);
            if (properties[i].Required) break;
        }
        return [.. next];
    }

    bool RequiredAfter(int last) => properties.Skip(last + 1).Any(p => p.Required);

    public override Step Feed(byte b)
    {
        switch (_phase)
        {
            case Phase.Open:
                return b == '{' ? Step.To(With(Phase.First, -1)) : Step.Reject;
            case Phase.First when b == '}':
            case Phase.AfterValue when b == '}':
                return RequiredAfter(_last) ? Step.Reject : Step.Finished;
            case Phase.First:
                return With(Phase.Key, -1, NextKeys(-1)).Feed(b);
            case Phase.AfterValue:
                return b == ',' && NextKeys(_last) is { Length: > 0 } keys ? Step.To(With(Phase.Key, _last, keys)) : Step.Reject;
            case Phase.Key:
                var alive = _keys.Where(i => properties[i].Key.Length > _matched && properties[i].Key[_matched] == b).ToArray();
                if (alive.Length == 0) return Step.Reject;
                // Distinct names never make one key a prefix of another ("a": against "ab":).
                return alive.Length == 1 && properties[alive[0]].Key.Length == _matched + 1
                    ? Step.To(With(Phase.Value, alive[0]))
                    : Step.To(With(Phase.Key, _last, alive, _matched + 1));
            default: // Value: the property's value starts with this byte
                return Step.Nest(With(Phase.AfterValue, _last), properties[_last].Value());
        }
    }
}
