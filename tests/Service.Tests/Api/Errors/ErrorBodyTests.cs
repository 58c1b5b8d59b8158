using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Service.Tests.Support;

namespace Service.Tests.Api.Errors;

/// <summary>Error bodies say what to fix without echoing the caller's text or naming .NET types (issue 12).</summary>
public sealed class ErrorBodyTests(ServiceFixture service) : IClassFixture<ServiceFixture>
{
    const string Marker = "zz-secret-ctx-91";

    [Theory]
    [InlineData("/v1/chat/completions", """{"model": "zz-secret-ctx-91", "messages": [{"role": "user", "content": "hi"}]}""", HttpStatusCode.NotFound, "model")]
    [InlineData("/v1/chat/completions", """{"model": "demo-tiny-llama", "messages": [{"role": "zz-secret-ctx-91", "content": "hi"}]}""", HttpStatusCode.BadRequest, "messages")]
    public async Task Chat_errors_do_not_echo_the_request_value(string route, string body, HttpStatusCode status, string param)
    {
        var response = await service.Client.PostAsync(route, new StringContent(body, Encoding.UTF8, "application/json"));
        var text = await response.Content.ReadAsStringAsync();
        Assert.Equal(status, response.StatusCode);
        Assert.DoesNotContain(Marker, text);
        Assert.Equal(param, JsonDocument.Parse(text).RootElement.GetProperty("error").GetProperty("param").GetString());
    }

    [Fact]
    public async Task A_target_the_model_cannot_rank_is_named_by_its_index_not_its_text()
    {
        var response = await service.Client.PostAsJsonAsync("/v1/fill-mask",
            new { text = "Paris is the capital of [MASK].", targets = new[] { "France", string.Concat(Enumerable.Repeat(Marker, 3)) } });
        var text = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.DoesNotContain(Marker, text);
        var problem = JsonDocument.Parse(text).RootElement;
        Assert.Equal("targets", problem.GetProperty("param").GetString());
        Assert.Contains("targets[1]", problem.GetProperty("detail").GetString());
    }

    [Theory]
    [InlineData("/v1/fill-mask", """{"text": "[MASK]", "top_k": "zz-secret-ctx-91"}""", "$.top_k")]
    [InlineData("/v1/fill-mask", """{"text": "[MASK]", "top_k": 1.5}""", "$.top_k")]
    [InlineData("/v1/fill-mask", """{"text": "[MASK]", "projection": {"enabled": "zz-secret-ctx-91"}}""", "$.projection.enabled")]
    [InlineData("/v1/chat/completions", """{"model": "demo-tiny-llama", "seed": "zz-secret-ctx-91", "messages": []}""", "$.seed")]
    public async Task Unreadable_JSON_names_the_field_but_no_type_and_no_value(string route, string body, string path)
    {
        var response = await service.Client.PostAsync(route, new StringContent(body, Encoding.UTF8, "application/json"));
        var text = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(path, text);
        Assert.DoesNotContain(Marker, text);
        Assert.DoesNotContain("System.", text);
        Assert.DoesNotContain("Request", text.Replace("\"request\"", "")); // the DTO type names end in Request
    }

    [Fact]
    public async Task A_body_that_is_not_JSON_names_neither_the_handler_parameter_nor_its_type()
    {
        var response = await service.Client.PostAsync("/v1/probes/evaluate", new StringContent("", Encoding.UTF8, "application/json"));
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var detail = problem.GetProperty("detail").GetString()!;
        Assert.DoesNotContain("ProbeEvaluationRequest", detail);
        Assert.DoesNotContain("System.", detail);
    }
}
