using System.Reflection;
using System.Text.Json.Nodes;
using Microsoft.OpenApi;
using Service.Contracts;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace Service.Api.Infrastructure;

public static class ApiDocumentation
{
    public static IServiceCollection AddApiDocumentation(this IServiceCollection services)
    {
        services.AddEndpointsApiExplorer();
        services.AddSwaggerGen(options =>
        {
            options.SwaggerDoc("v1", new OpenApiInfo
            {
                Title = "Multilingual probing and empathetic chat service",
                Version = "v1",
                Description = "Fill-mask factual-knowledge probes on multilingual masked LMs (with LRP2 projection) and chat completions.",
            });
            var xml = Path.Combine(AppContext.BaseDirectory, $"{Assembly.GetExecutingAssembly().GetName().Name}.xml");
            if (File.Exists(xml)) options.IncludeXmlComments(xml);
            // A property whose type is another schema is written as allOf: [$ref], so that it can carry its own description.
            options.UseAllOfToExtendReferenceSchemas();
            options.SchemaFilter<SchemaDocumentation>();
        });
        return services;
    }

    public static void UseApiDocumentation(this WebApplication app)
    {
        app.UseSwagger();
        app.UseSwaggerUI(options => options.DocumentTitle = "Service API");
    }

    /// <summary>
    /// Type descriptions from [Description], the fields of the framework's ProblemDetails (and our `param`), and an
    /// example per request body so "Try it out" works as is.
    /// </summary>
    sealed class SchemaDocumentation : ISchemaFilter
    {
        public void Apply(IOpenApiSchema schema, SchemaFilterContext context)
        {
            if (schema is not OpenApiSchema concrete) return;
            if (concrete.Description is null && context.Type.GetCustomAttribute<System.ComponentModel.DescriptionAttribute>() is { } description)
                concrete.Description = description.Description;
            if (context.Type == typeof(Microsoft.AspNetCore.Mvc.ProblemDetails)) DescribeProblem(concrete);
            if (context.Type == typeof(FillMaskRequest))
                concrete.Examples = [JsonNode.Parse("""{"text": "Paris is the capital of [MASK].", "top_k": 5, "language": "en"}""")!];
            if (context.Type == typeof(ChatCompletionRequest))
                concrete.Examples = [JsonNode.Parse("""{"model": "demo-tiny-llama", "messages": [{"role": "user", "content": "我最近睡不着，怎么办？"}], "max_tokens": 64}""")!];
        }

        static readonly Dictionary<string, string> ProblemFields = new()
        {
            ["type"] = "A URI that identifies the kind of problem (RFC 9457).",
            ["title"] = "A short summary of the kind of problem, the same for every occurrence.",
            ["status"] = "The HTTP status code.",
            ["detail"] = "What went wrong with this request and what to change; it never repeats the request's text.",
            ["instance"] = "The request path, when given.",
        };

        static void DescribeProblem(OpenApiSchema schema)
        {
            schema.Description = "An error (RFC 9457 problem details, application/problem+json).";
            foreach (var (name, property) in schema.Properties ?? new Dictionary<string, IOpenApiSchema>())
                if (property is OpenApiSchema field && ProblemFields.TryGetValue(name, out var text)) field.Description = text;
            schema.Properties ??= new Dictionary<string, IOpenApiSchema>();
            schema.Properties["param"] = new OpenApiSchema
            {
                Type = JsonSchemaType.String | JsonSchemaType.Null,
                Description = "The request field at fault, in the request's own spelling (e.g. top_k, sentences), when one is.",
            };
        }
    }
}
