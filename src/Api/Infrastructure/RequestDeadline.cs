using Microsoft.AspNetCore.Http.Timeouts;
using Service.Api.Errors;

namespace Service.Api.Infrastructure;

/// <summary>
/// A per-request deadline (`Host:RequestTimeoutSeconds`, 0 = none): past it the request's token is
/// cancelled, so its queued work is skipped, and the caller gets 504 with a body that says so.
/// Chat completions opt out (see ChatEndpoints); the envelope branch serves any OpenAI route that opts in.
/// </summary>
public static class RequestDeadline
{
    public const int DefaultSeconds = 300;

    public static void AddRequestDeadline(this WebApplicationBuilder builder)
    {
        builder.Services.AddRequestTimeouts();
        // Read when the options are first used, not now: test hosts add their configuration at Build().
        builder.Services.AddOptions<RequestTimeoutOptions>().Configure<IConfiguration>((options, configuration) =>
        {
            int seconds = configuration.GetValue("Host:RequestTimeoutSeconds", DefaultSeconds);
            if (seconds <= 0) return;
            options.DefaultPolicy = new RequestTimeoutPolicy
            {
                Timeout = TimeSpan.FromSeconds(seconds),
                TimeoutStatusCode = StatusCodes.Status504GatewayTimeout,
                WriteTimeoutResponse = context => Write(context, seconds),
            };
        });
    }

    static Task Write(HttpContext context, int seconds)
    {
        var message = $"The request did not finish within Host:RequestTimeoutSeconds ({seconds} s); the model is busy or the request is too large. Retry, or ask for less.";
        return ApiErrors.WriteAsync(context, new ApiError(StatusCodes.Status504GatewayTimeout, message));
    }
}
