using Serilog;
using Service.Api.Infrastructure;
using Service.Inference.Hosting;
using Service.Inference.Probes;

namespace Service.Api.Commands;

/// <summary>A failure the user can act on; the command prints its message, not a stack trace.</summary>
sealed class CommandException(string message) : Exception(message);

/// <summary>
/// The service's composition for a command: the same host builder, configuration (appsettings,
/// environment) and inference registration as the web service, with the model host started on its
/// own thread. The hosted services (warm-up, HTTP) are not started: a command does only its work.
/// </summary>
sealed class CommandHost : IAsyncDisposable
{
    readonly IHost _host;

    /// <summary>The service's model host: work runs on its thread, as the endpoints' work does.</summary>
    public ModelHost ModelHost { get; }

    /// <summary>The loaded models (valid after <see cref="StartAsync"/>).</summary>
    public LoadedModels Models => ModelHost.Models;

    CommandHost(IHost host, ModelHost modelHost) => (_host, ModelHost) = (host, modelHost);

    public static async Task<CommandHost> StartAsync(string? model, string? cache)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = [], ContentRootPath = AppContext.BaseDirectory });
        var overrides = new Dictionary<string, string?>();
        if (model is not null) overrides["Models:FillMask:Path"] = model;
        if (cache is not null) overrides["Projection:CacheDirectory"] = cache;
        builder.Configuration.AddInMemoryCollection(overrides);
        // Logs on stderr: stdout holds the report.
        builder.Services.AddSerilog((_, logger) => logger.ReadFrom.Configuration(builder.Configuration)
            .WriteTo.Console(standardErrorFromLevel: Serilog.Events.LogEventLevel.Verbose, formatProvider: System.Globalization.CultureInfo.InvariantCulture));
        builder.Services.AddInference(builder.Configuration);
        var host = builder.Build();
        var models = host.Services.GetRequiredService<ModelHost>();
        models.Start();
        await models.Loaded;
        if (models.State != HostState.Ready)
        {
            host.Dispose();
            throw new CommandException($"the model failed to load: {models.StatusDetail}");
        }
        return new CommandHost(host, models);
    }

    public string ModelName => Models.Probed.Name;

    public ProbeEvaluator Evaluator() => new(Models.Probed, Models.Projection);

    /// <summary>Runs a chunk of scoring on the model thread, as the service's probe endpoint does.</summary>
    public Task<bool[]> Execute(Func<bool[]> work) => ModelHost.RunAsync(_ => work());

    public async ValueTask DisposeAsync()
    {
        await ModelHost.StopAsync();
        _host.Dispose();
    }
}
