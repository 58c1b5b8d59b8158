using Microsoft.Extensions.Options;
using Service.Inference.Chat;
using Service.Inference.FillMask;
using Service.Inference.Hosting;
using Service.Inference.Probes;
using Service.Inference.Projection;
using Service.Inference.Runtime;

namespace Service.Api.Infrastructure;

public static class InferenceRegistration
{
    /// <summary>
    /// Binds and validates (at start) every inference option, and registers the model host, the batcher
    /// and scheduler, and one application service per task (the only things endpoints call).
    /// </summary>
    public static IServiceCollection AddInference(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddValidatedOptions<ModelsOptions>("Models");
        services.AddValidatedOptions<ModelSlotOptions>("Models:FillMask"); // data annotations do not reach nested objects
        services.AddValidatedOptions<ChatModelSlotOptions>("Models:Chat");
        services.AddValidatedOptions<InferenceOptions>("Inference");
        services.AddValidatedOptions<ModelHostOptions>("Host");
        services.AddValidatedOptions<ProjectionOptions>("Projection");
        services.AddValidatedOptions<FillMaskOptions>("FillMask");
        services.AddValidatedOptions<FillMaskBatchingOptions>("FillMask:Batching");
        services.AddValidatedOptions<ChatOptions>("Chat");
        services.AddValidatedOptions<ChatBatchingOptions>("Chat:Batching");
        services.AddValidatedOptions<LanguageVectorOptions>("LanguageVectors");
        services.AddValidatedOptions<ProbeOptions>("Probes");

        services.AddSingleton(sp => new FillMaskBatcher(sp.GetRequiredService<ModelHost>(), sp.GetRequiredService<IOptions<FillMaskBatchingOptions>>().Value));
        services.AddSingleton(sp => new ChatScheduler(sp.GetRequiredService<ModelHost>(), sp.GetRequiredService<IOptions<ChatBatchingOptions>>().Value));
        services.AddSingleton<FillMaskService>();
        services.AddSingleton<ChatService>();
        services.AddSingleton<LanguageVectorService>();
        services.AddSingleton<ProbeService>();
        services.AddSingleton(sp =>
        {
            var models = sp.GetRequiredService<IOptions<ModelsOptions>>().Value;
            var inference = sp.GetRequiredService<IOptions<InferenceOptions>>().Value;
            var fillMask = sp.GetRequiredService<IOptions<FillMaskOptions>>().Value;
            var projection = sp.GetRequiredService<IOptions<ProjectionOptions>>().Value;
            var chat = sp.GetRequiredService<IOptions<ChatOptions>>().Value;
            var loadLog = sp.GetRequiredService<ILoggerFactory>().CreateLogger("Service.Inference.ModelLoading");
            return new ModelHost(
                () => ModelLoading.Load(models, inference, fillMask, projection, loadLog, chat),
                sp.GetRequiredService<IOptions<ModelHostOptions>>().Value,
                sp.GetRequiredService<ILogger<ModelHost>>());
        });
        services.AddHostedService<ModelHostLifetime>();
        services.AddSingleton<LanguageVectorWarmup>();
        services.AddHostedService(sp => sp.GetRequiredService<LanguageVectorWarmup>());
        return services;
    }

    /// <summary>Binds a section and checks its data annotations when the host starts, so a bad value stops start-up with its name.</summary>
    static void AddValidatedOptions<T>(this IServiceCollection services, string section) where T : class =>
        services.AddOptions<T>().BindConfiguration(section).ValidateDataAnnotations().ValidateOnStart();
}

/// <summary>
/// Starts loading at start-up (without blocking it) and drains the queue at shutdown. A drain that
/// outlasts the shutdown timeout is abandoned with a warning (queued jobs answered 503), never left to
/// escape as a TaskCanceledException that would abort the process. `Host:StopDelaySeconds` keeps the
/// server accepting for a while after stopping begins, with readiness already 503, so that a load
/// balancer stops sending before the port closes.
/// </summary>
sealed class ModelHostLifetime(ModelHost host, IConfiguration configuration, ILogger<ModelHostLifetime> log) : IHostedLifecycleService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        host.Start();
        return Task.CompletedTask;
    }

    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        double delay = configuration.GetValue("Host:StopDelaySeconds", 0.0);
        if (delay <= 0) return;
        log.LogInformation("Stopping: readiness answers 503; waiting {Seconds} s before closing the port", delay);
        try
        {
            await Task.Delay(TimeSpan.FromSeconds(delay), cancellationToken);
        }
        catch (OperationCanceledException)
        {
            // the shutdown timeout is shorter than the delay: go on stopping
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        try
        {
            await host.StopAsync().WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            log.LogWarning("The model queue did not drain within the shutdown timeout; {Queued} waiting jobs are answered 503", host.QueueLength);
            host.Abandon();
        }
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
