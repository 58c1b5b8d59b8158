using System.Text.Json;
using Service.Tests.Support;

namespace Service.Tests.Api.Infrastructure;

/// <summary>Swagger UI is how users explore the service: every field of every schema says what it means.</summary>
public sealed class ApiDocumentationTests(ServiceFixture service) : IClassFixture<ServiceFixture>
{
    [Fact]
    public async Task Every_schema_and_every_property_in_the_OpenAPI_document_has_a_description()
    {
        using var document = JsonDocument.Parse(await service.Client.GetStringAsync("/swagger/v1/swagger.json"));
        var schemas = document.RootElement.GetProperty("components").GetProperty("schemas");
        var undescribed = new List<string>();
        int properties = 0;
        foreach (var schema in schemas.EnumerateObject())
        {
            if (!Described(schema.Value)) undescribed.Add(schema.Name);
            if (!schema.Value.TryGetProperty("properties", out var fields)) continue;
            foreach (var field in fields.EnumerateObject())
            {
                properties++;
                if (!Described(field.Value)) undescribed.Add($"{schema.Name}.{field.Name}");
            }
        }
        Assert.True(properties > 80, $"only {properties} properties found: is this the service's document?");
        Assert.Empty(undescribed);
    }

    static bool Described(JsonElement schema) =>
        schema.TryGetProperty("description", out var d) && d.GetString() is { Length: > 0 };
}
