namespace Service.Inference.Generation.Guided;

/// <summary>
/// Reads one value of the output, byte by byte. Matchers are immutable, so a state can be tried with every
/// token of the vocabulary without copying: <see cref="Feed"/> returns what happens next and never changes this one.
/// </summary>
public abstract class Matcher
{
    /// <summary>What the byte does: see <see cref="Step"/>.</summary>
    public abstract Step Feed(byte b);

    /// <summary>The bytes read so far are a whole value that may also go on (a number, enum [1, 12] after "1").</summary>
    public virtual bool CanEnd => false;
}

/// <summary>The outcome of a byte: rejected, the matcher's next state, the value finished with it, or a nested value starts with it.</summary>
public readonly record struct Step(StepKind Kind, Matcher? Next = null, Matcher? Child = null)
{
    public static readonly Step Reject = new(StepKind.Reject);
    public static readonly Step Finished = new(StepKind.Finished);
    public static Step To(Matcher next) => new(StepKind.Next, next);
    /// <summary>This matcher continues as <paramref name="after"/> once <paramref name="child"/>, which reads this same byte first, has finished.</summary>
    public static Step Nest(Matcher after, Matcher child) => new(StepKind.Nest, after, child);
}

public enum StepKind { Reject, Next, Finished, Nest }

/// <summary>
/// Where the output is: a stack of matchers, innermost first (immutable, shared between the states that
/// branch from it). The empty stack is a finished output that takes no more bytes.
/// </summary>
public sealed class OutputState
{
    readonly Matcher? _head;
    readonly OutputState? _tail;

    OutputState(Matcher? head, OutputState? tail) => (_head, _tail) = (head, tail);

    /// <summary>The innermost matcher (null when done) and what encloses it, shared by every state inside the same value.</summary>
    public Matcher? Head => _head;
    public OutputState? Tail => _tail;

    public static readonly OutputState Done = new(null, null);

    public static OutputState Start(Matcher root) => new(root, Done);

    /// <summary>The output is a whole value: finished, or a top-level value that may end here.</summary>
    public bool IsComplete => _head is null || (_tail!._head is null && _head.CanEnd);

    /// <summary>The state after one more byte, or null when no valid output starts with the bytes so far plus this one.</summary>
    public OutputState? Feed(byte b)
    {
        var state = this;
        while (state._head is { } head)
        {
            var step = head.Feed(b);
            switch (step.Kind)
            {
                case StepKind.Next: return new OutputState(step.Next, state._tail);
                case StepKind.Finished: return state._tail;
                case StepKind.Nest: state = new OutputState(step.Child, new OutputState(step.Next, state._tail)); continue;
                default:
                    if (!head.CanEnd) return null;
                    state = state._tail!; // the value ended before this byte (a number): the byte belongs to what encloses it
                    continue;
            }
        }
        return null;
    }
}
