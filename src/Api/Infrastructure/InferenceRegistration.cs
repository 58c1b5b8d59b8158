using Microsoft.Extensions.Options;
using Service.Inference.Chat;
using Service.Inference.FillMask;
using Service.Inference.Hosting;
using Service.Inference.Projection;
using Service.Inference.Runtime;

namespace Service.Api.Infrastructure;

public static class InferenceRegistration
{
    /// <summary>Binds Models, Inference, FillMask, Chat and Host options and registers the model host and its batchers.</summary>
    public static IServiceCollection AddInference(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<ModelsOptions>().BindConfiguration("Models");
        services.AddOptions<InferenceOptions>().BindConfiguration("Inference");
        services.AddOptions<FillMaskOptions>().BindConfiguration("FillMask");
        services.AddOptions<ModelHostOptions>().BindConfiguration("Host");
        services.AddOptions<ProjectionOptions>().BindConfiguration("Projection");
        services.AddOptions<FillMaskBatchingOptions>().BindConfiguration("FillMask:Batching");
        services.AddSingleton(sp => new FillMaskBatcher(sp.GetRequiredService<ModelHost>(), sp.GetRequiredService<IOptions<FillMaskBatchingOptions>>().Value));
        services.AddOptions<ChatOptions>().BindConfiguration("Chat");
        services.AddOptions<ChatBatchingOptions>().BindConfiguration("Chat:Batching");
        services.AddSingleton(sp => new ChatScheduler(sp.GetRequiredService<ModelHost>(), sp.GetRequiredService<IOptions<ChatBatchingOptions>>().Value));
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
}

/// <summary>Starts loading at start-up (without blocking it) and drains the queue at shutdown.</summary>
sealed class ModelHostLifetime(ModelHost host) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        host.Start();
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => host.StopAsync().WaitAsync(cancellationToken);
}
