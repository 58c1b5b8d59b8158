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
