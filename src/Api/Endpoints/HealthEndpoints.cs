using Microsoft.AspNetCore.Http.HttpResults;
using Service.Contracts;
using Service.Inference.Hosting;

namespace Service.Api.Endpoints;

/// <summary>Liveness and readiness, mapped in every environment (compose and orchestrators probe them).</summary>
public static class HealthEndpoints
{
    public static IEndpointRouteBuilder MapHealthEndpoints(this IEndpointRouteBuilder app)
    {
        var health = app.MapGroup("/health").WithTags("Health");
        health.MapGet("/live", () => TypedResults.Ok(new HealthStatus("live", "the process is running")))
            .WithName("Live").WithSummary("200 while the process runs");
        health.MapGet("/ready", Ready)
            .WithName("Ready").WithSummary("200 once the models are loaded; 503 with the reason (loading, or the load error) until then");
        return app;
    }

    // Stopping counts from ApplicationStopping, before the server closes its port, so that a load
    // balancer polling readiness takes the replica out while it still answers (see Host:StopDelaySeconds).
    static Results<Ok<HealthStatus>, JsonHttpResult<HealthStatus>> Ready(ModelHost host, IHostApplicationLifetime lifetime)
    {
        var status = lifetime.ApplicationStopping.IsCancellationRequested
            ? new HealthStatus("stopping", "the service is shutting down; send requests to another replica")
            : new HealthStatus(host.State.ToString().ToLowerInvariant(), host.StatusDetail);
        return host.State == HostState.Ready && !lifetime.ApplicationStopping.IsCancellationRequested
            ? TypedResults.Ok(status)
            : TypedResults.Json(status, statusCode: StatusCodes.Status503ServiceUnavailable);
    }
}
