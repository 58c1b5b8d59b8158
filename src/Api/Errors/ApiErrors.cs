using System.Text.Json;
using Service.Contracts;
using Service.Inference;

namespace Service.Api.Errors;

/// <summary>A failure in HTTP terms: status, a detail that says what to fix, the request field at fault.</summary>
public sealed record ApiError(int Status, string Detail, string? Param = null, TimeSpan? RetryAfter = null);

/// <summary>
/// The one place where failures become HTTP: the table from error kinds to status codes, and the one
/// writer of error bodies, problem details (RFC 9457, with `param`) everywhere and OpenAI's
/// `{"error": {...}}` envelope on the OpenAI-compatible routes. Details never echo request text nor
/// name .NET types.
/// </summary>
public static class ApiErrors
{
    public static int StatusCode(InferenceErrorKind kind) => kind switch
    {
        InferenceErrorKind.Invalid or InferenceErrorKind.Tokenization => StatusCodes.Status400BadRequest,
        InferenceErrorKind.NotFound => StatusCodes.Status404NotFound,
        InferenceErrorKind.Overloaded => StatusCodes.Status429TooManyRequests,
        InferenceErrorKind.NotReady => StatusCodes.Status503ServiceUnavailable,
        InferenceErrorKind.Timeout => StatusCodes.Status504GatewayTimeout,
        InferenceErrorKind.Storage => StatusCodes.Status507InsufficientStorage,
        InferenceErrorKind.Conflict => StatusCodes.Status409Conflict,
        _ => StatusCodes.Status500InternalServerError,
    };

    public static string Title(int status) => status switch
    {
        400 => "The request is invalid",
        401 => "An API key is required",
        404 => "Not found",
        409 => "The request conflicts with a limit",
        413 => "The request body is too large",
        415 => "Unsupported media type",
        429 => "Too many requests",
        503 => "The service is not ready",
        504 => "The request timed out",
        507 => "The vector cache cannot be written",
        _ => "The request failed",
    };

    /// <summary>Seconds a client should wait after a 429 or 503 when nothing more precise is known.</summary>
    public const int RetryAfterSeconds = 1;

    /// <summary>Any failure as an <see cref="ApiError"/>; unexpected ones get a detail that reveals nothing.</summary>
    public static ApiError From(Exception error) => error switch
    {
        InferenceException e => new(StatusCode(e.Kind), e.Message, e.Parameter, e.RetryAfter),
        ApiRejection e => new(e.Status, e.Message, null, e.RetryAfter),
        BadHttpRequestException e => new(e.StatusCode, BadRequestDetail(e)),
        _ => new(StatusCodes.Status500InternalServerError, "The service failed while handling the request; the error is logged with the request id."),
    };

    /// <summary>The response for an error: status headers, then the body the route's clients expect.</summary>
    public static IResult Result(HttpContext context, ApiError error)
    {
        if (error.Status is 429 or 503)
            context.Response.Headers.RetryAfter = (error.RetryAfter is { } wait ? (int)Math.Ceiling(wait.TotalSeconds) : RetryAfterSeconds).ToString();
        if (error.Status == 401) context.Response.Headers.WWWAuthenticate = "Bearer";
        if (IsOpenAiRoute(context))
            return TypedResults.Json(OpenAiEnvelope(error.Status, error.Detail, error.Param), statusCode: error.Status);
        var extensions = error.Param is null ? null : new Dictionary<string, object?> { ["param"] = error.Param };
        return TypedResults.Problem(error.Detail, statusCode: error.Status, title: Title(error.Status), extensions: extensions);
    }

    public static Task WriteAsync(HttpContext context, ApiError error) => Result(context, error).ExecuteAsync(context);

    /// <summary>The OpenAI-compatible routes answer errors in OpenAI's envelope, so that OpenAI clients show the message.</summary>
    public static bool IsOpenAiRoute(HttpContext context) => context.Request.Path.StartsWithSegments("/v1/chat");

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

    // Where in the body and what kind of fault, which is what a caller needs to fix it; the JSON reader's
    // own message is not passed on, as it names .NET types (System.Nullable`1[System.Int32]) and the
    // framework's names the handler's parameter type.
    static string BadRequestDetail(BadHttpRequestException e) => e.InnerException switch
    {
        JsonException { Path: { } path } json =>
            $"The request body is not valid JSON for this route at {path} (line {json.LineNumber + 1}, byte {json.BytePositionInLine + 1}): check that field's type and the JSON syntax.",
        JsonException => "The request body is not valid JSON; send a JSON object as /swagger describes.",
        _ => e.StatusCode switch
        {
            413 => "The request body is too large.",
            415 => "Send the body as JSON with 'Content-Type: application/json'.",
            400 => "The request body is missing or not a JSON object this route accepts; see /swagger.",
            _ => Title(e.StatusCode),
        },
    };
}
