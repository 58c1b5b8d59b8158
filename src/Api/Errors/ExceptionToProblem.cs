using Microsoft.AspNetCore.Diagnostics;

namespace Service.Api.Errors;

/// <summary>
/// Failures thrown outside the `/v1` handlers' filter: unreadable JSON, wrong content type, oversize
/// body, API-key and rate-limit refusals, bugs. Written by <see cref="ApiErrors"/>.
/// </summary>
sealed class ExceptionToProblem(ILogger<ExceptionToProblem> log) : IExceptionHandler
{
    /// <summary>nginx's status for a request the client abandoned; logged, never sent to anyone.</summary>
    const int ClientClosedRequest = 499;

    public async ValueTask<bool> TryHandleAsync(HttpContext context, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is OperationCanceledException && context.RequestAborted.IsCancellationRequested)
        {
            // The client went away: nobody reads a body, and it is not the service's failure.
            log.LogInformation("Client closed the request on {Path}", context.Request.Path);
            context.Response.StatusCode = ClientClosedRequest;
            return true;
        }
        var error = ApiErrors.From(exception);
        if (error.Status >= 500) log.LogError(exception, "Unhandled failure on {Path}", context.Request.Path);
        await ApiErrors.WriteAsync(context, error);
        return true;
    }
}
