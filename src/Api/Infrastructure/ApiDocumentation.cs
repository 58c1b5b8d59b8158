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
            options.SchemaFilter<SchemaDocumentation>();
        });
        return services;
    }

    public static void UseApiDocumentation(this WebApplication app)
    {
        app.UseSwagger();
        app.UseSwaggerUI(options => options.DocumentTitle = "Service API");
    }

    /// <summary>Type descriptions from [Description], and an example per request body so "Try it out" works as is.</summary>
    sealed class SchemaDocumentation : ISchemaFilter
    {
        public void Apply(IOpenApiSchema schema, SchemaFilterContext context)
        {
            if (schema is not OpenApiSchema concrete) return;
            if (concrete.Description is null && context.Type.GetCustomAttribute<System.ComponentModel.DescriptionAttribute>() is { } description)
                concrete.Description = description.Description;
            if (context.Type == typeof(FillMaskRequest))
                concrete.Examples = [JsonNode.Parse("""{"text": "Paris is the capital of [MASK].", "top_k": 5, "language": "en"}""")!];
            if (context.Type == typeof(ChatCompletionRequest))
                concrete.Examples = [JsonNode.Parse("""{"model": "demo-tiny-llama", "messages": [{"role": "user", "content": "我最近睡不着，怎么办？"}], "max_tokens": 64}""")!];
        }
    }
}
