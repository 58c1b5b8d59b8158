using Service.Api.Endpoints;
using Service.Api.Infrastructure;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceLogging();
builder.Services.AddInference(builder.Configuration);
builder.Services.AddApiErrors();
builder.Services.AddApiDocumentation();

var app = builder.Build();
app.UseApiErrors();
app.UseServiceRequestLogging();
app.UseApiDocumentation();
app.MapHealthEndpoints();
app.MapModelsEndpoints();
app.MapFillMaskEndpoints();
app.MapChatEndpoints();
app.Run();

/// <summary>Entry point; public so that tests can host it with WebApplicationFactory.</summary>
public partial class Program;
