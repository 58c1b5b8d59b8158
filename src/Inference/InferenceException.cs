namespace Service.Inference;

/// <summary>
/// What went wrong in inference terms. The API maps each kind to an HTTP status in one table
/// (Service.Api.Errors.ApiErrors); nothing here knows HTTP, and callers' concerns (API keys, rate
/// limits, body size) are the API's own rejections.
/// </summary>
public enum InferenceErrorKind
{
    /// <summary>The request is wrong; its message says what to change.</summary>
    Invalid,
    /// <summary>A named resource (a language's vectors, a model) does not exist.</summary>
    NotFound,
    /// <summary>The text cannot be tokenized as asked (too long for the model, a token the vocabulary lacks).</summary>
    Tokenization,
    /// <summary>Too much work is waiting; try again shortly.</summary>
    Overloaded,
    /// <summary>The model is still loading, failed to load, or the host is stopping.</summary>
    NotReady,
    /// <summary>The work did not finish within its deadline.</summary>
    Timeout,
    /// <summary>The vector cache cannot be written (read-only, missing or full disk).</summary>
    Storage,
    /// <summary>The request conflicts with a configured limit or the resource's state (e.g. Projection:MaxLanguages).</summary>
    Conflict,
    /// <summary>The model failed while computing.</summary>
    Backend,
}

public sealed class InferenceException(InferenceErrorKind kind, string message, string? parameter = null, Exception? inner = null)
    : Exception(message, inner)
{
    public InferenceErrorKind Kind { get; } = kind;
    /// <summary>The request field at fault, in the request's own (snake_case) spelling, if any.</summary>
    public string? Parameter { get; } = parameter;
    /// <summary>When to try again, if known (Overloaded).</summary>
    public TimeSpan? RetryAfter { get; init; }

    public static InferenceException Invalid(string message, string? parameter = null) =>
        new(InferenceErrorKind.Invalid, message, parameter);

    public static InferenceException NotFound(string message, string? parameter = null) =>
        new(InferenceErrorKind.NotFound, message, parameter);
}
