using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http.HttpResults;
using Service.Contracts;
using Service.Inference.Hosting;

namespace Service.Api.Infrastructure;

/// <summary>
/// The one place where failures become HTTP: error kinds to status codes, problem details
/// (RFC 9457) with a `detail` that says what to fix. Nothing here echoes request text.
/// </summary>
public static class ApiErrors
{
    public static int StatusCode(InferenceErrorKind kind) => kind switch
    {
        InferenceErrorKind.Validation => StatusCodes.Status400BadRequest,
        InferenceErrorKind.NotFound => StatusCodes.Status404NotFound,
        InferenceErrorKind.Overloaded => StatusCodes.Status429TooManyRequests,
        InferenceErrorKind.NotReady => StatusCodes.Status503ServiceUnavailable,
        InferenceErrorKind.Unauthorized => StatusCodes.Status401Unauthorized,
        InferenceErrorKind.RateLimited => StatusCodes.Status429TooManyRequests,
        InferenceErrorKind.Storage => StatusCodes.Status507InsufficientStorage,
        InferenceErrorKind.Conflict => StatusCodes.Status409Conflict,
        _ => StatusCodes.Status500InternalServerError,
    };

    static string Title(int status) => status switch
    {
        400 => "The request is invalid",
        401 => "An API key is required",
        404 => "Not found",
        413 => "The request body is too large",
        409 => "The request conflicts with a limit",
        415 => "Unsupported media type",
        429 => "Too many requests",
        503 => "The service is not ready",
        507 => "Insufficient storage",
        _ => "The request failed",
    };

    /// <summary>nginx's status for a request the client abandoned; logged, never sent to anyone.</summary>
    const int ClientClosedRequest = 499;

    /// <summary>Seconds a client should wait after a 429 or 503.</summary>
    public const int RetryAfterSeconds = 1;

    /// <summary>Headers that go with a status: Retry-After on 429 and 503, WWW-Authenticate on 401.</summary>
    static void StatusHeaders(HttpContext context, int status, Exception? error)
    {
        if (status is 429 or 503)
            context.Response.Headers.RetryAfter = (error is InferenceException { RetryAfter: { } wait } ? (int)Math.Ceiling(wait.TotalSeconds) : RetryAfterSeconds).ToString();
        if (status == 401) context.Response.Headers.WWWAuthenticate = "Bearer";
    }

    public static ProblemHttpResult Problem(HttpContext context, InferenceException error)
    {
        int status = StatusCode(error.Kind);
        StatusHeaders(context, status, error);
        var extensions = error.Parameter is null ? null : new Dictionary<string, object?> { ["param"] = error.Parameter };
        return TypedResults.Problem(error.Message, statusCode: status, title: Title(status), extensions: extensions);
    }

    /// <summary>The OpenAI-compatible routes answer errors in OpenAI's envelope, so that OpenAI clients show the message.</summary>
    public static bool IsOpenAiRoute(HttpContext context) => context.Request.Path.StartsWithSegments("/v1/chat");

    public static JsonHttpResult<OpenAiErrorResponse> OpenAiError(HttpContext context, InferenceException error)
    {
        int status = StatusCode(error.Kind);
        StatusHeaders(context, status, error);
        return TypedResults.Json(OpenAiEnvelope(status, error.Message, error.Parameter), statusCode: status);
    }

    public static OpenAiErrorResponse OpenAiEnvelope(int status, string message, string? param)
    {
        var type = status switch
        {
            400 or 401 or 404 or 413 or 415 => "invalid_request_error",
            429 => "rate_limit_error",
            503 => "service_unavailable_error",
            _ => "server_error",
        };
        var code = status switch
        {
            401 => "invalid_api_key",
            404 when param == "model" => "model_not_found",
            429 => "rate_limit_exceeded",
            400 => "invalid_value",
            _ => null,
        };
        return new OpenAiErrorResponse(new OpenAiError(message, type, param, code));
    }

    public static IServiceCollection AddApiErrors(this IServiceCollection services)
    {
        services.AddProblemDetails(options => options.CustomizeProblemDetails = FrameworkDefaults);
        // Unreadable bodies throw (instead of a bare 400) so that ExceptionToProblem explains them.
        services.Configure<Microsoft.AspNetCore.Routing.RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        services.AddExceptionHandler<ExceptionToProblem>();
        return services;
    }

    /// <summary>Bodies the framework writes itself (status code pages, Kestrel's 413 while a handler reads) get our title and a detail too.</summary>
    static void FrameworkDefaults(ProblemDetailsContext context)
    {
        var problem = context.ProblemDetails;
        if (problem.Status is not { } status) return;
        if (Title(status) is var ours && ours != Title(0)) problem.Title = ours;
        problem.Detail ??= status switch
        {
            404 => "There is no such route; the routes are listed at /swagger.",
            405 => "This route does not take this HTTP method; see /swagger.",
            413 => "The request body is too large; send a smaller one.",
            415 => "Send the body as JSON with 'Content-Type: application/json'.",
            _ => problem.Title,
        };
    }

    public static void UseApiErrors(this WebApplication app)
    {
        app.UseExceptionHandler();
        app.UseStatusCodePages(); // bodies for 404/405/415 the framework answers itself
    }

    /// <summary>Failures thrown outside handlers: unreadable JSON, wrong content type, oversize body, bugs.</summary>
    sealed class ExceptionToProblem(IProblemDetailsService problems, ILogger<ExceptionToProblem> log) : IExceptionHandler
    {
        public async ValueTask<bool> TryHandleAsync(HttpContext context, Exception exception, CancellationToken cancellationToken)
        {
            if (exception is OperationCanceledException && context.RequestAborted.IsCancellationRequested)
            {
                // The client went away: nobody reads a body, and it is not the service's failure.
                log.LogInformation("Client closed the request on {Path}", context.Request.Path);
                context.Response.StatusCode = ClientClosedRequest;
                return true;
            }
            (int status, string detail) = exception switch
            {
                InferenceException e => (StatusCode(e.Kind), e.Message),
                BadHttpRequestException e => (e.StatusCode, BadRequestDetail(e)),
                _ => (500, "The service failed while handling the request; the error is logged with the request id."),
            };
            if (status >= 500) log.LogError(exception, "Unhandled failure on {Path}", context.Request.Path);
            StatusHeaders(context, status, exception);
            context.Response.StatusCode = status;
            if (IsOpenAiRoute(context))
            {
                await context.Response.WriteAsJsonAsync(OpenAiEnvelope(status, detail, (exception as InferenceException)?.Parameter), cancellationToken);
                return true;
            }
            return await problems.TryWriteAsync(new ProblemDetailsContext
            {
                HttpContext = context,
                Exception = exception,
                ProblemDetails = { Status = status, Title = Title(status), Detail = detail },
            });
        }

        // The JSON reader's message names the field and the position ("Path: $.top_k | LineNumber: 0 ..."),
        // which is what a caller needs to fix the body; it never contains the body's text values.
        static string BadRequestDetail(BadHttpRequestException e) => e.InnerException switch
        {
            JsonException json => $"The request body is not valid JSON for this route: {json.Message}",
            _ when e.StatusCode == 413 => "The request body is too large.",
            _ => e.Message,
        };
    }
}
