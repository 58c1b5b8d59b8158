namespace Service.Inference.Generation.Guided;

/// <summary>
/// A JSON number without exponent: <c>-?(0|[1-9][0-9]*)(\.[0-9]+)?</c>, the fraction only for "number" (not
/// "integer"), at most <see cref="MaxDigits"/> digits on each side so that a reply always ends.
/// </summary>
public sealed class NumberMatcher(bool integer) : Matcher
{
    public const int MaxDigits = 15;

    enum Phase { Start, Minus, Zero, Digits, Dot, Fraction }

    Phase _phase = Phase.Start;
    int _digits;

    NumberMatcher With(Phase phase, int digits) => new(integer) { _phase = phase, _digits = digits };

    public override bool CanEnd => _phase is Phase.Zero or Phase.Digits or Phase.Fraction;

    public override Step Feed(byte b)
    {
        bool digit = b is >= (byte)'0' and <= (byte)'9';
        switch (_phase)
        {
            case Phase.Start when b == '-': return Step.To(With(Phase.Minus, 0));
            case Phase.Start or Phase.Minus when b == '0': return Step.To(With(Phase.Zero, 1));
            case Phase.Start or Phase.Minus when digit: return Step.To(With(Phase.Digits, 1));
            case Phase.Digits when digit && _digits < MaxDigits: return Step.To(With(Phase.Digits, _digits + 1));
            case Phase.Zero or Phase.Digits when b == '.' && !integer: return Step.To(With(Phase.Dot, 0));
            case Phase.Dot when digit: return Step.To(With(Phase.Fraction, 1));
            case Phase.Fraction when digit && _digits < MaxDigits: return Step.To(With(Phase.Fraction, _digits + 1));
            default: return Step.Reject;
        }
    }
}
