using Serilog;
using Serilog.Events;

namespace Service.Api.Infrastructure;

public static class Logging
{
    /// <summary>Serilog from the `Serilog` configuration section, console by default.</summary>
    public static void AddServiceLogging(this WebApplicationBuilder builder) =>
        builder.Services.AddSerilog((services, logger) => logger
            .ReadFrom.Configuration(builder.Configuration)
            .MinimumLevel.Override("Microsoft.AspNetCore", LogEventLevel.Warning)
            .Enrich.FromLogContext()
            .WriteTo.Console(formatProvider: System.Globalization.CultureInfo.InvariantCulture));

    /// <summary>One line per request: method, path, status, time. Never bodies: they may be counselling text.</summary>
    public static void UseServiceRequestLogging(this WebApplication app) =>
        app.UseSerilogRequestLogging(options =>
            options.MessageTemplate = "HTTP {RequestMethod} {RequestPath} responded {StatusCode} in {Elapsed:0.0} ms");
}
