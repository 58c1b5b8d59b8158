namespace Service.Api.Errors;

public static class ErrorRegistration
{
    public static IServiceCollection AddApiErrors(this IServiceCollection services)
    {
        services.AddProblemDetails(options => options.CustomizeProblemDetails = FrameworkDefaults);
        // Unreadable bodies throw (instead of a bare 400) so that ExceptionToProblem explains them.
        services.Configure<Microsoft.AspNetCore.Routing.RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        services.AddExceptionHandler<ExceptionToProblem>();
        return services;
    }

    public static void UseApiErrors(this WebApplication app)
    {
        app.UseExceptionHandler();
        app.UseStatusCodePages(); // bodies for 404/405/415 the framework answers itself
    }

    /// <summary>Bodies the framework writes itself (status code pages, Kestrel's 413 while a handler reads) get our title and a detail too.</summary>
    static void FrameworkDefaults(ProblemDetailsContext context)
    {
        var problem = context.ProblemDetails;
        if (problem.Status is not { } status) return;
        if (ApiErrors.Title(status) is var ours && ours != ApiErrors.Title(0)) problem.Title = ours;
        problem.Detail ??= status switch
        {
            404 => "There is no such route; the routes are listed at /swagger.",
            405 => "This route does not take this HTTP method; see /swagger.",
            413 => "The request body is too large; send a smaller one.",
            415 => "Send the body as JSON with 'Content-Type: application/json'.",
            _ => problem.Title,
        };
    }
}
