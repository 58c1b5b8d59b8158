namespace Service.Inference.Generation;

/// <summary>
/// Turns the decoded text of the tokens generated so far into safe-to-send deltas. Holds back what
/// may still change: an incomplete UTF-8 character (decoded as U+FFFD) and a tail that could be the
/// start of a stop string. A stop string ends the reply and is never emitted. The format's clean-up
/// (e.g. collapsing runs of newlines) must keep prefixes stable: clean(a + b) starts with clean(a).
/// </summary>
public sealed class ReplyText(IReadOnlyList<string> stops, Func<string, string>? clean = null)
{
    int _emitted;
    string _text = "";

    /// <summary>True once a stop string appeared; the reply ends before it.</summary>
    public bool Stopped { get; private set; }
    /// <summary>Everything emitted so far.</summary>
    public string Text => _text[.._emitted];

    /// <summary>The new delta (possibly empty) for the decoded text of all tokens generated so far.</summary>
    public string Update(string decoded) => Advance(decoded, final: false);

    /// <summary>The last delta: the reply has ended, nothing is held back any more.</summary>
    public string Finish(string decoded) => Advance(decoded, final: true);

    string Advance(string decoded, bool final)
    {
        if (Stopped) return "";
        _text = clean is null ? decoded : clean(decoded);
        int stop = FirstStop(_text);
        if (stop >= 0)
        {
            Stopped = true;
            return Emit(stop);
        }
        return Emit(final ? _text.Length : SafeLength(_text));
    }

    int FirstStop(string text)
    {
        int first = -1;
        foreach (var s in stops)
        {
            int i = s.Length == 0 ? -1 : text.IndexOf(s, StringComparison.Ordinal);
            if (i >= 0 && (first < 0 || i < first)) first = i;
        }
        return first;
    }

    int SafeLength(string text)
    {
        int safe = text.Length;
        while (safe > 0 && text[safe - 1] == '\uFFFD') safe--;
        int held = 0;
        foreach (var s in stops)
            for (int n = Math.Min(s.Length - 1, safe); n > held; n--)
                if (string.CompareOrdinal(text, safe - n, s, 0, n) == 0) { held = n; break; }
        return safe - held;
    }

    string Emit(int upTo)
    {
        if (upTo <= _emitted) return "";
        var delta = _text[_emitted..upTo];
        _emitted = upTo;
        return delta;
    }
}
