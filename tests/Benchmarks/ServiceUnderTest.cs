using System.Net;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Service.Inference.Hosting;

namespace Service.Benchmarks;

/// <summary>
/// The real service (Program, its configuration and middleware) in this process on Kestrel at a
/// loopback port, reached by a real HttpClient over TCP; Production environment, logging at Warning,
/// per-client rate limit off.
/// </summary>
public sealed class ServiceUnderTest : WebApplicationFactory<Program>
{
    readonly IReadOnlyDictionary<string, string?> _settings;

    ServiceUnderTest(IReadOnlyDictionary<string, string?> settings) => _settings = settings;

    public Uri BaseAddress { get; private set; } = null!;
    public HttpClient Http { get; private set; } = null!;
    public ModelHost Host => Services.GetRequiredService<ModelHost>();
    public TimeSpan LoadTime { get; private set; }

    public static async Task<ServiceUnderTest> StartAsync(IReadOnlyDictionary<string, string?> settings)
    {
        UseApiContentRoot();
        var service = new ServiceUnderTest(settings);
        service.UseKestrel(0);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        service.StartServer();
        var address = service.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        service.BaseAddress = new Uri(address.Replace("[::]", "127.0.0.1", StringComparison.Ordinal));
        service.Http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 1024, UseProxy = false })
        {
            BaseAddress = service.BaseAddress,
            Timeout = TimeSpan.FromMinutes(10),
            DefaultRequestVersion = HttpVersion.Version11,
        };
        await service.Host.Loaded;
        service.LoadTime = clock.Elapsed;
        if (service.Host.State != HostState.Ready)
            throw new InvalidOperationException($"The service did not load its models: {service.Host.StatusDetail}");
        return service;
    }

    /// <summary>
    /// WebApplicationFactory finds the Api's content root through MvcTestingAppManifest.json in the
    /// current directory, which `dotnet run` leaves at the caller's; take it from the build output instead.
    /// </summary>
    static void UseApiContentRoot()
    {
        const string variable = "ASPNETCORE_TEST_CONTENTROOT_SERVICE_API";
        var manifest = Path.Combine(AppContext.BaseDirectory, "MvcTestingAppManifest.json");
        if (Environment.GetEnvironmentVariable(variable) is not null || !File.Exists(manifest)) return;
        using var json = System.Text.Json.JsonDocument.Parse(File.ReadAllText(manifest));
        var root = json.RootElement.EnumerateObject().FirstOrDefault(p => p.Name.StartsWith("Service.Api,", StringComparison.Ordinal));
        if (root.Value.GetString() is { } path && Directory.Exists(path)) Environment.SetEnvironmentVariable(variable, path);
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Production");
        builder.ConfigureAppConfiguration(config => config.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Serilog:MinimumLevel:Default"] = "Warning",
            // One benchmark client stands for many users: the per-client token bucket would cap it.
            ["Security:RateLimit:TokenLimit"] = "0",
            ["Projection:WarmUp"] = "false",
            ["Projection:CacheDirectory"] = Directory.CreateTempSubdirectory("bench-lrp2-").FullName,
        }).AddInMemoryCollection(_settings));
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) Http?.Dispose();
        base.Dispose(disposing);
    }
}
