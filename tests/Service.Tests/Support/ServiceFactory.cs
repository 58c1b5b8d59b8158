using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Service.Inference.Hosting;

namespace Service.Tests.Support;

/// <summary>
/// The real service in memory, with configuration overrides; waits until the models are loaded.
/// Each instance gets its own language-vector cache directory and no start-up warm-up unless the settings say otherwise.
/// </summary>
public sealed class ServiceFactory(IReadOnlyDictionary<string, string?>? settings = null) : WebApplicationFactory<Program>
{
    protected override void ConfigureWebHost(IWebHostBuilder builder) =>
        builder.ConfigureAppConfiguration(config => config
            .AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Projection:CacheDirectory"] = Directory.CreateTempSubdirectory("service-tests-").FullName,
                ["Projection:WarmUp"] = "false", // tests that want it turn it on
            })
            .AddInMemoryCollection(settings ?? new Dictionary<string, string?>()));

    public async Task<HttpClient> StartedClient()
    {
        var client = CreateClient();
        await Services.GetRequiredService<ModelHost>().Loaded;
        return client;
    }
}
