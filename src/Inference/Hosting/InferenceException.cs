namespace Service.Inference.Hosting;

/// <summary>What went wrong, in terms the API maps onto HTTP status codes in one place.</summary>
public enum InferenceErrorKind
{
    /// <summary>The request is wrong; its message says what to change (400).</summary>
    Validation,
    /// <summary>A named resource (a language's vectors, a model) does not exist (404).</summary>
    NotFound,
    /// <summary>The queue is full; try again shortly (429).</summary>
    Overloaded,
    /// <summary>The model is still loading or failed to load (503).</summary>
    NotReady,
    /// <summary>The model failed while computing (500).</summary>
    Backend,
    /// <summary>The caller sent no valid API key (401).</summary>
    Unauthorized,
    /// <summary>The caller has used up its request rate; try again after <see cref="InferenceException.RetryAfter"/> (429).</summary>
    RateLimited,
    /// <summary>The storage behind a resource (the language-vector cache) cannot be written: unwritable or full (507).</summary>
    Storage,
    /// <summary>The request conflicts with a configured limit or the resource's state (409).</summary>
    Conflict,
}

public sealed class InferenceException(InferenceErrorKind kind, string message, string? parameter = null) : Exception(message)
{
    public InferenceErrorKind Kind { get; } = kind;
    /// <summary>The request field at fault, in the request's own (snake_case) spelling, if any.</summary>
    public string? Parameter { get; } = parameter;
    /// <summary>When to try again, if known (Overloaded, RateLimited).</summary>
    public TimeSpan? RetryAfter { get; init; }

    public static InferenceException Invalid(string message, string? parameter = null) =>
        new(InferenceErrorKind.Validation, message, parameter);
}
