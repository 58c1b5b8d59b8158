using System.Diagnostics;
using Service.Inference.Chat;
using Service.Inference.FillMask;
using Service.Inference.Hosting;

namespace Service.Api.Infrastructure;

/// <summary>Feeds <see cref="ServiceMetrics"/> from every request and serves them at <c>GET /metrics</c>.</summary>
public static class MetricsEndpoint
{
    /// <summary>
    /// Call before <c>UseApiErrors</c>: this middleware is then the outermost, so it sees the final
    /// status of every response, including 401, 413 and 429 written by the error mapping.
    /// </summary>
    public static void UseServiceMetrics(this WebApplication app)
    {
        ServiceMetrics.ExportGenerationMetrics();
        app.Services.GetRequiredService<FillMaskBatcher>().BatchRan += size => ServiceMetrics.FillMaskBatchSize.Observe(size);
        app.Services.GetRequiredService<ChatScheduler>().BatchRan += size => ServiceMetrics.ChatBatchSize.Observe(size);
        app.Use(async (context, next) =>
        {
            long start = Stopwatch.GetTimestamp();
            // Routing has run; the exception handler clears the endpoint later, so take the template now.
            string route = (context.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText ?? "none";
            string method = context.Request.Method;
            int? status = null;
            try
            {
                await next(context);
            }
            catch
            {
                status = StatusCodes.Status500InternalServerError;
                throw;
            }
            finally
            {
                ServiceMetrics.HttpRequests.WithLabels(route, method, (status ?? context.Response.StatusCode).ToString()).Inc();
                ServiceMetrics.HttpRequestDuration.WithLabels(route, method).Observe(Stopwatch.GetElapsedTime(start).TotalSeconds);
            }
        });
        app.MapGet("/metrics", Scrape).ExcludeFromDescription();
    }

    static async Task Scrape(HttpContext context, ModelHost host, FillMaskBatcher batcher, ChatScheduler chat)
    {
        ServiceMetrics.QueueSize.Set(host.QueueLength);
        ServiceMetrics.FillMaskWaiting.Set(batcher.WaitingCount);
        ServiceMetrics.ChatWaiting.Set(chat.WaitingCount);
        ServiceMetrics.ChatRunning.Set(chat.RunningCount);
        ServiceMetrics.KvCacheUsage.Set(chat.BudgetBytes == 0 ? 0 : (double)chat.ReservedBytes / chat.BudgetBytes);
        context.Response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
        await ServiceMetrics.Registry.CollectAndExportAsTextAsync(context.Response.Body, context.RequestAborted);
    }
}
