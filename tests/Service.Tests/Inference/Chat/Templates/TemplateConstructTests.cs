using System.Text.Json;
using Service.Inference.Chat.Templates;

namespace Service.Tests.Inference.Chat.Templates;

/// <summary>
/// Each construct of the engine against Python's jinja2 configured as transformers configures it:
/// tests/fixtures/templates/constructs.json holds the cases and jinja2's output (or error), written by
/// its generate.py, which also records @huggingface/jinja's output (it agrees on the constructs real
/// templates use, and differs on Python details such as `True`, `None`, `-7 % 3` and missing filters).
/// </summary>
public sealed class TemplateConstructTests
{
    static readonly JsonElement[] Cases = [.. JsonDocument.Parse(File.ReadAllText(
        Path.Combine(AppContext.BaseDirectory, "fixtures", "templates", "constructs.json"))).RootElement.EnumerateArray().Select(c => c.Clone())];

    public static TheoryData<int> CaseNumbers() => [.. Enumerable.Range(0, Cases.Length)];

    [Fact]
    public void The_fixture_covers_many_constructs_and_some_errors()
    {
        Assert.True(Cases.Length >= 90, $"only {Cases.Length} cases");
        Assert.True(Cases.Count(c => c.GetProperty("expected").TryGetProperty("error", out _)) >= 8);
    }

    [Theory]
    [MemberData(nameof(CaseNumbers))]
    public void Renders_as_jinja2_does(int number)
    {
        var c = Cases[number];
        var template = c.GetProperty("template").GetString()!;
        var expected = c.GetProperty("expected");
        var context = (TemplateDict)TemplateValues.FromJson(c.GetProperty("context"))!;
        var variables = context.ToDictionary(p => ((TemplateText)p.Key).Text, p => p.Value);
        if (expected.TryGetProperty("error", out var error))
        {
            var e = Record.Exception(() => Template.Parse(template).Render(variables));
            Assert.True(e is TemplateSyntaxException or TemplateRuntimeException,
                $"jinja2 fails with {error.GetString()}; the engine gave {(e is null ? "no error" : e.GetType().Name + ": " + e.Message)}\n{template}");
            return;
        }
        var rendered = Template.Parse(template).Render(variables).Text;
        Assert.True(expected.GetProperty("output").GetString() == rendered,
            $"template:\n{template}\njinja2:\n{expected.GetProperty("output").GetString()}\nengine:\n{rendered}");
    }
}
