using System.Net.Http.Json;
using Service.Contracts;
using Service.Inference.Chat;
using Service.Inference.Checkpoints;
using Service.Tests.Api.Endpoints;
using Service.Tests.Support;
using TorchSharp;

namespace Service.Tests.Inference.Chat;

/// <summary>
/// generation_config.json sampling defaults: request > `Chat:*` > checkpoint > SoulChat's values, checked on the
/// resolved parameters and over HTTP against the Qwen2 fixture's greedy reference reply.
/// </summary>
public sealed class GenerationDefaultsTests
{
    /// <summary>The Qwen2 fixture in a scratch directory with the given generation_config.json.</summary>
    static string Qwen2With(string generationConfig)
    {
        // Same directory name: the served model's id is the directory's name.
        var dir = Directory.CreateDirectory(Path.Combine(Directory.CreateTempSubdirectory("generation-config-").FullName, ChatFixtures.Qwen2)).FullName;
        foreach (var file in Directory.GetFiles(ChatFixtures.Dir(ChatFixtures.Qwen2)))
            File.Copy(file, Path.Combine(dir, Path.GetFileName(file)));
        File.WriteAllText(Path.Combine(dir, "generation_config.json"), generationConfig);
        return dir;
    }

    const string QwenLike = """{"bos_token_id": 1, "do_sample": true, "eos_token_id": [2], "temperature": 0.7, "top_p": 0.8, "top_k": 20, "repetition_penalty": 1.05, "transformers_version": "4.45.0"}""";

    static ChatEngine Engine(string dir, ChatOptions options) =>
        new(ChatModelLoader.Load(dir, null, torch.CPU, torch.ScalarType.Float32), options);

    [Fact]
    public void The_checkpoint_fills_what_request_and_configuration_leave_out()
    {
        var dir = Qwen2With(QwenLike);
        var engine = Engine(dir, new ChatOptions());
        Assert.Equal(new GenerationDefaults(0.7, 0.8, 20, 1.05), engine.Bundle.GenerationDefaults);
        var s = engine.Sampling(new ChatQuery([]));
        Assert.Equal((0.7, 0.8, (int?)20, 1.05), (s.Temperature, s.TopP, s.TopK, s.RepetitionPenalty));

        var configured = Engine(dir, new ChatOptions { Temperature = 0.95, TopK = 0 }).Sampling(new ChatQuery([]));
        Assert.Equal((0.95, 0.8, (int?)null, 1.05), (configured.Temperature, configured.TopP, configured.TopK, configured.RepetitionPenalty));

        var requested = Engine(dir, new ChatOptions { Temperature = 0.95 }).Sampling(new ChatQuery([], Temperature: 0.2, TopP: 0.5, TopK: 3, RepetitionPenalty: 1.3));
        Assert.Equal((0.2, 0.5, (int?)3, 1.3), (requested.Temperature, requested.TopP, requested.TopK, requested.RepetitionPenalty));
    }

    [Fact]
    public void Without_the_file_SoulChats_values_are_the_defaults()
    {
        var engine = Engine(ChatFixtures.Dir(ChatFixtures.Qwen2), new ChatOptions());
        Assert.Equal(GenerationDefaults.None, engine.Bundle.GenerationDefaults);
        var s = engine.Sampling(new ChatQuery([]));
        Assert.Equal((0.95, 0.75, (int?)null, 1.0), (s.Temperature, s.TopP, s.TopK, s.RepetitionPenalty));
        // A file with only eos_token_id (as many checkpoints ship) changes no sampling value.
        Assert.Equal(GenerationDefaults.None, GenerationDefaults.Read(Qwen2With("""{"eos_token_id": 2, "top_k": 0}""")));
    }

    [Theory]
    [InlineData("""{"temperature": 3}""", "temperature")]
    [InlineData("""{"top_p": 0}""", "top_p")]
    [InlineData("""{"repetition_penalty": -1}""", "repetition_penalty")]
    [InlineData("""{"top_k": "many"}""", "top_k")]
    public void Values_out_of_range_stop_loading_naming_the_field(string json, string field)
    {
        var e = Assert.Throws<CheckpointException>(() => GenerationDefaults.Read(Qwen2With(json)));
        Assert.Contains("generation_config.json", e.Message);
        Assert.Contains(field, e.Message);
    }

    static async Task<ChatCompletion> Reply(Dictionary<string, string?> settings, object body)
    {
        using var factory = new ServiceFactory(settings);
        var client = await factory.StartedClient();
        var response = await client.PostAsJsonAsync("/v1/chat/completions", body);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<ChatCompletion>())!;
    }

    static Dictionary<string, string?> Serving(string dir, params (string Key, string Value)[] more)
    {
        var settings = new Dictionary<string, string?> { ["Models:Chat:Path"] = dir, ["Chat:Safety:AiDisclosure"] = "" };
        foreach (var (key, value) in more) settings[key] = value;
        return settings;
    }

    [Fact]
    public async Task The_checkpoints_repetition_penalty_changes_the_greedy_reply_and_configuration_outranks_it()
    {
        var expected = ChatCheckpointHttpTests.Expected(); // greedy, repeating its tokens
        Assert.True(expected.ReplyIds.Distinct().Count() < expected.ReplyIds.Length);
        var penalising = Qwen2With("""{"repetition_penalty": 50.0}""");
        var body = new { model = ChatFixtures.Qwen2, temperature = 0, max_tokens = expected.MaxTokens, messages = new[] { new { role = "user", content = expected.User } } };

        var penalised = await Reply(Serving(penalising), body);
        Assert.NotEqual(expected.ReplyText, penalised.Choices[0].Message.Content);
        // Chat:RepetitionPenalty set explicitly outranks the checkpoint: 1 is off, the reference reply again.
        var configured = await Reply(Serving(penalising, ("Chat:RepetitionPenalty", "1")), body);
        Assert.Equal(expected.ReplyText, configured.Choices[0].Message.Content);
    }

    [Fact]
    public async Task The_checkpoints_eos_token_id_ends_the_reply()
    {
        var expected = ChatCheckpointHttpTests.Expected();
        int eos = expected.ReplyIds.First(id => id != expected.ReplyIds[0]); // the first token that differs from the reply's first
        int stopAt = Array.IndexOf(expected.ReplyIds, eos);
        var dir = Qwen2With($$"""{"eos_token_id": {{eos}}}""");
        var completion = await Reply(Serving(dir), new { model = ChatFixtures.Qwen2, temperature = 0, max_tokens = expected.MaxTokens, messages = new[] { new { role = "user", content = expected.User } } });
        Assert.Equal("stop", completion.Choices[0].FinishReason);
        Assert.Equal(stopAt + 1, completion.Usage.CompletionTokens); // the end-of-sequence token counts, as in OpenAI's usage
        Assert.Equal(expected.ReplyText[..stopAt], completion.Choices[0].Message.Content);
    }
}
