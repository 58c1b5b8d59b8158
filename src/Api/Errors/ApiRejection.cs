namespace Service.Api.Errors;

/// <summary>
/// A refusal that belongs to the HTTP edge, not to inference: no or a wrong API key (401), a client's
/// rate limit (429). Thrown by middleware; <see cref="ApiErrors"/> writes it as every other error.
/// </summary>
public sealed class ApiRejection(int status, string message) : Exception(message)
{
    public int Status { get; } = status;
    /// <summary>When to try again (429).</summary>
    public TimeSpan? RetryAfter { get; init; }
}
