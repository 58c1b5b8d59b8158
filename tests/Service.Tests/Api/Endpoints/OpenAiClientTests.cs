using System.Diagnostics;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Service.Inference.Chat;
using Service.Tests.Support;

namespace Service.Tests.Api.Endpoints;

/// <summary>
/// The official `openai` npm package, unmodified, against the service on a real loopback port:
/// a completion, a stream with usage, and an error it must understand. Needs `npm ci` in
/// tests/openai-client (.ci/run does it).
/// </summary>
public sealed class OpenAiClientTests
{
    [Fact]
    public async Task The_openai_package_gets_a_completion_and_a_stream_from_the_demo_model()
    {
        var result = await RunClient(new Dictionary<string, string?>(), "demo-tiny-llama");
        var disclosure = new ChatSafetyOptions().AiDisclosure;
        Assert.StartsWith(disclosure, result.GetProperty("content").GetString());
        Assert.Equal(result.GetProperty("content").GetString(), result.GetProperty("streamed").GetString());
        AssertCommonShape(result);
    }

    [Fact]
    public async Task The_openai_package_gets_the_reference_reply_from_a_real_format_checkpoint()
    {
        var expected = ChatCheckpointHttpTests.Expected();
        var result = await RunClient(ChatCheckpointHttpTests.Settings(), ChatFixtures.Qwen2);
        Assert.Equal(expected.ReplyText, result.GetProperty("content").GetString());
        Assert.Equal(expected.ReplyText, result.GetProperty("streamed").GetString());
        Assert.Equal(expected.FinishReason, result.GetProperty("finish_reason").GetString());
        Assert.Equal(expected.ReplyIds.Length, result.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        AssertCommonShape(result);
    }

    static void AssertCommonShape(JsonElement result)
    {
        Assert.Equal(result.GetProperty("finish_reason").GetString(), result.GetProperty("stream_finish_reason").GetString());
        Assert.Equal(result.GetProperty("usage").GetRawText(), result.GetProperty("stream_usage").GetRawText());
        Assert.Equal(["assistant"], result.GetProperty("roles").EnumerateArray().Select(r => r.GetString()));
        var error = result.GetProperty("error");
        Assert.Equal(400, error.GetProperty("status").GetInt32());
        Assert.Equal("n", error.GetProperty("param").GetString());
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.Contains("n must be between 1 and 8", error.GetProperty("message").GetString());

        // n = 3: three choices in index order, choice 1 being the reply seeded with seed + 1, and the same streamed.
        var choices = result.GetProperty("choices").EnumerateArray().ToList();
        Assert.Equal([0, 1, 2], choices.Select(c => c.GetProperty("index").GetInt32()));
        Assert.Equal(result.GetProperty("seed_plus_one").GetString(), choices[1].GetProperty("content").GetString());
        Assert.Equal(choices.Select(c => c.GetProperty("content").GetString()),
            result.GetProperty("streamed_choices").EnumerateArray().Select(s => s.GetString()));
        Assert.Equal(choices.Select(c => new[] { c.GetProperty("finish_reason").GetString() }),
            result.GetProperty("streamed_finish").EnumerateArray().Select(f => f.EnumerateArray().Select(r => r.GetString()).ToArray()));
        Assert.Equal(result.GetProperty("choices_usage").GetRawText(), result.GetProperty("streamed_choices_usage").GetRawText());
    }

    static async Task<JsonElement> RunClient(Dictionary<string, string?> settings, string model)
    {
        var clientDir = Path.Combine(RepositoryRoot(), "tests", "openai-client");
        Assert.True(Directory.Exists(Path.Combine(clientDir, "node_modules", "openai")),
            $"the openai package is not installed: run `npm ci` in {clientDir} (.ci/run does).");
        using var factory = new ServiceFactory(settings);
        factory.UseKestrel(0);
        factory.StartServer();
        await factory.StartedClient();
        var address = factory.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();

        var start = new ProcessStartInfo("node", ["chat.mjs", model])
        {
            WorkingDirectory = clientDir,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment["OPENAI_BASE_URL"] = address.TrimEnd('/') + "/v1";
        using var node = Process.Start(start)!;
        var stdout = node.StandardOutput.ReadToEndAsync();
        var stderr = node.StandardError.ReadToEndAsync();
        await node.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(120));
        Assert.True(node.ExitCode == 0, $"node exited with {node.ExitCode}: {await stderr}");
        return JsonDocument.Parse(await stdout).RootElement.Clone();
    }

    static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Service.sln"))) return dir.FullName;
        throw new InvalidOperationException("Service.sln not found above the test's output directory.");
    }
}
