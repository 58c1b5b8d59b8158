using Service.Api.Commands;
using Service.Api.Endpoints;
using Service.Api.Errors;
using Service.Api.Infrastructure;
using Service.Inference.Runtime;

TorchRuntime.PrepareNativeThreading(); // before libtorch loads: see why there
if (Lrp2Command.Matches(args)) return await Lrp2Command.RunAsync(args);

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceLogging();
builder.Services.AddInference(builder.Configuration);
builder.Services.AddApiErrors();
builder.Services.AddApiDocumentation();
builder.AddServiceSecurity();
builder.AddRequestDeadline();

var app = builder.Build();
app.UseServiceMetrics();
app.UseServiceRequestLogging(); // outside the error mapping, so it logs the final status
app.UseApiErrors();
app.UseServiceSecurity();
app.UseRequestTimeouts();
app.UseApiDocumentation();
app.MapHealthEndpoints();
app.MapV1Endpoints();
app.MapTokenizeEndpoints();
await app.RunAsync();
return 0;

/// <summary>Entry point; public so that tests can host it with WebApplicationFactory.</summary>
public partial class Program;
