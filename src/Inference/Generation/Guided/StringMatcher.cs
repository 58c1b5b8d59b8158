namespace Service.Inference.Generation.Guided;

/// <summary>
/// A JSON string of <c>minLength</c> to <c>maxLength</c> characters (an escape is one): an opening quote,
/// well-formed UTF-8 (no surrogates, no overlong forms) with control characters escaped, a closing quote.
/// Validators count a character outside the BMP as one (code points, as the JSON-schema spec says) or as two
/// (UTF-16 units, as .NET's and some others do), so minLength counts it once and maxLength twice: every
/// validator accepts the reply.
/// </summary>
public sealed class StringMatcher(int minLength, int maxLength) : Matcher
{
    enum Phase { Open, Body, Escape, Hex, Continuation }

    Phase _phase = Phase.Open;
    int _points, _units, _pending; // code points and UTF-16 units so far; hex digits or continuation bytes still due
    byte _low = 0x80, _high = 0xBF;  // the range of the next continuation byte

    StringMatcher With(Phase phase, int points, int units, int pending = 0, byte low = 0x80, byte high = 0xBF) =>
        new(minLength, maxLength) { _phase = phase, _points = points, _units = units, _pending = pending, _low = low, _high = high };

    /// <summary>
    /// What decides the next token inside this string when no token is longer than <paramref name="horizon"/> bytes:
    /// two states with the same signature (and the same enclosing state) allow the same tokens. Lengths still
    /// needed or left are capped there, so an unbounded string has one signature throughout its body.
    /// </summary>
    public (int Phase, int Pending, byte Low, byte High, int MinLeft, int MaxLeft) Signature(int horizon) =>
        ((int)_phase, _pending, _low, _high, Math.Clamp(minLength - _points, 0, horizon + 1), (int)Math.Min((long)maxLength - _units, horizon + 1));

    StringMatcher Character(int units) => With(Phase.Body, _points + 1, _units + units);

    public override Step Feed(byte b)
    {
        switch (_phase)
        {
            case Phase.Open:
                return b == '"' ? Step.To(With(Phase.Body, 0, 0)) : Step.Reject;
            case Phase.Escape:
                if (b == 'u') return Step.To(With(Phase.Hex, _points, _units, 4));
                return "\"\\/bfnrt".Contains((char)b) ? Step.To(Character(1)) : Step.Reject;
            case Phase.Hex:
                if (!char.IsAsciiHexDigit((char)b)) return Step.Reject;
                return Step.To(_pending == 1 ? Character(1) : With(Phase.Hex, _points, _units, _pending - 1));
            case Phase.Continuation:
                if (b < _low || b > _high) return Step.Reject;
                if (_pending > 1) return Step.To(With(Phase.Continuation, _points, _units, _pending - 1));
                return Step.To(Character(1)); // a 4-byte character's second UTF-16 unit was counted at its first byte
        }
        if (b == '"') return _points >= minLength ? Step.Finished : Step.Reject;
        if (b < 0x20) return Step.Reject;
        int units = b >= 0xF0 ? 2 : 1;
        if (_units + units > maxLength) return Step.Reject;
        if (b == '\\') return Step.To(With(Phase.Escape, _points, _units));
        if (b < 0x80) return Step.To(Character(1));
        // The first continuation byte's range excludes overlong forms, surrogates and code points past U+10FFFF.
        return b switch
        {
            >= 0xC2 and <= 0xDF => Step.To(With(Phase.Continuation, _points, _units, 1)),
            0xE0 => Step.To(With(Phase.Continuation, _points, _units, 2, 0xA0, 0xBF)),
            0xED => Step.To(With(Phase.Continuation, _points, _units, 2, 0x80, 0x9F)),
            >= 0xE1 and <= 0xEF => Step.To(With(Phase.Continuation, _points, _units, 2)),
            0xF0 => Step.To(With(Phase.Continuation, _points, _units + 1, 3, 0x90, 0xBF)),
            >= 0xF1 and <= 0xF3 => Step.To(With(Phase.Continuation, _points, _units + 1, 3)),
            0xF4 => Step.To(With(Phase.Continuation, _points, _units + 1, 3, 0x80, 0x8F)),
            _ => Step.Reject,
        };
    }
}
