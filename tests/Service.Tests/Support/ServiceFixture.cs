namespace Service.Tests.Support;

/// <summary>One started service in the default (demo models) configuration, shared by a test class.</summary>
public sealed class ServiceFixture : IAsyncLifetime, IDisposable
{
    public ServiceFactory Factory { get; } = new();
    public HttpClient Client { get; private set; } = null!;

    public async Task InitializeAsync() => Client = await Factory.StartedClient();
    public Task DisposeAsync() => Task.CompletedTask;
    public void Dispose() => Factory.Dispose();
}
