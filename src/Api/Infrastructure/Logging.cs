using System.Text;
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

    /// <summary>
    /// One line per request: method, path, status, time. Never bodies: they may be counselling text.
    /// The path is the escaped one (`%0A`, not a line break), since the decoded path lets a client
    /// write forged lines into the log. Health probes go at Debug: an orchestrator polls them every
    /// second, and a 503 while the model loads is the expected answer, not an error.
    /// </summary>
    public static void UseServiceRequestLogging(this WebApplication app) =>
        app.UseSerilogRequestLogging(options =>
        {
            options.MessageTemplate = "HTTP {RequestMethod} {RequestPath} responded {StatusCode} in {Elapsed:0.0} ms";
            options.GetMessageTemplateProperties = (context, _, elapsed, status) =>
            [
                new LogEventProperty("RequestMethod", new ScalarValue(LogText.Escape(context.Request.Method))),
                new LogEventProperty("RequestPath", new ScalarValue((context.Request.PathBase + context.Request.Path).ToUriComponent())),
                new LogEventProperty("StatusCode", new ScalarValue(status)),
                new LogEventProperty("Elapsed", new ScalarValue(elapsed)),
            ];
            options.GetLevel = (context, _, error) =>
                context.Request.Path.StartsWithSegments("/health") ? LogEventLevel.Debug
                : error is not null || context.Response.StatusCode >= 500 ? LogEventLevel.Error
                : LogEventLevel.Information;
        });
}

/// <summary>Text from a request (a header, a configured value) made safe for one log line.</summary>
public static class LogText
{
    /// <summary>Control characters (line breaks included) and Unicode line separators as `\uXXXX`.</summary>
    public static string Escape(string text)
    {
        if (!text.Any(NeedsEscape)) return text;
        var escaped = new StringBuilder(text.Length + 16);
        foreach (char c in text)
            if (NeedsEscape(c)) escaped.Append($"\\u{(int)c:X4}");
            else escaped.Append(c);
        return escaped.ToString();
    }

    static bool NeedsEscape(char c) => char.IsControl(c) || c is '\u2028' or '\u2029';
}
