namespace Service.Inference.Generation.Guided;

/// <summary>A JSON array of <c>minItems</c> to <c>maxItems</c> values, each read by a fresh matcher of its items' schema.</summary>
public sealed class ArrayMatcher(Func<Matcher> items, int minItems, int maxItems) : Matcher
{
    enum Phase { Open, First, AfterValue, Next }

    Phase _phase = Phase.Open;
    int _count;

    ArrayMatcher With(Phase phase, int count) => new(items, minItems, maxItems) { _phase = phase, _count = count };

    public override Step Feed(byte b) => _phase switch
    {
        Phase.Open => b == '[' ? Step.To(With(Phase.First, 0)) : Step.Reject,
        Phase.First when b == ']' => minItems == 0 ? Step.Finished : Step.Reject,
        Phase.First or Phase.Next => _count < maxItems ? Step.Nest(With(Phase.AfterValue, _count + 1), items()) : Step.Reject,
        _ when b == ',' => _count < maxItems ? Step.To(With(Phase.Next, _count)) : Step.Reject,
        _ when b == ']' => _count >= minItems ? Step.Finished : Step.Reject,
        _ => Step.Reject,
    };
}
