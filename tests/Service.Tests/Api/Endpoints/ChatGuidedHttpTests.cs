using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using NJsonSchema;
using Service.Contracts;
using Service.Tests.Support;

namespace Service.Tests.Api.Endpoints;

/// <summary>
/// Guided output over HTTP on the Qwen2 fixture (a random model, so nothing but the constraint makes its
/// replies valid): sampled replies validate against their schema (NJsonSchema judges), choices are one of the
/// choices, greedy choice agrees with the float64 reference's ranking, streams carry the same, bad requests are 400s.
/// </summary>
public sealed class ChatGuidedHttpTests(ChatLogprobsHttpTests.Server server) : IClassFixture<ChatLogprobsHttpTests.Server>
{
    // The fixture's context is 64 positions, so every schema here bounds its longest reply (one token per byte) to what fits.
    const string Schema = """
        {"type": "object", "properties": {
            "f": {"enum": ["sad", "calm"]},
            "s": {"type": "string", "maxLength": 2},
            "o": {"type": "object", "properties": {"z": {"type": "null"}}, "required": ["z"]}},
         "required": ["f", "s", "o"], "additionalProperties": false}
        """;

    public static TheoryData<string> Schemas() => new()
    {
        Schema,
        """{"type": "array", "items": {"type": "boolean"}, "minItems": 1, "maxItems": 3}""",
        """{"type": "object", "properties": {"n": {"type": "integer"}, "c": {"const": 1}}, "required": ["n"]}""",
        """{"type": "number"}""",
    };

    static object Body(object? responseFormat = null, object? structured = null, long seed = 1, double temperature = 1.0, bool stream = false, int maxTokens = 160) => new
    {
        model = ChatFixtures.Qwen2,
        messages = new[] { new { role = "user", content = "Hi" } },
        temperature, seed, max_tokens = maxTokens, stream, top_p = 1.0,
        response_format = responseFormat,
        structured_outputs = structured,
    };

    static object JsonSchemaFormat(string schema) => new { type = "json_schema", json_schema = new { name = "feeling", schema = JsonDocument.Parse(schema).RootElement, strict = true } };

    [Theory]
    [MemberData(nameof(Schemas))]
    public async Task Sampled_replies_are_complete_json_that_validates_against_the_schema(string schema)
    {
        var validator = await JsonSchema.FromJsonAsync(schema);
        var client = await server.Factory.StartedClient();
        var replies = new List<string>();
        for (long seed = 1; seed <= 5; seed++)
        {
            var response = await client.PostAsJsonAsync("/v1/chat/completions", Body(JsonSchemaFormat(schema), seed: seed));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var choice = (await response.Content.ReadFromJsonAsync<ChatCompletion>())!.Choices[0];
            Assert.Equal("stop", choice.FinishReason); // ended by the grammar's end-of-sequence, not by max_tokens
            var reply = choice.Message.Content;
            JsonDocument.Parse(reply); // well-formed JSON
            Assert.True(validator.Validate(reply).Count == 0, reply);
            replies.Add(reply);
        }
        if (schema == Schema) Assert.True(replies.Distinct().Count() > 1, "sampling with different seeds gives different valid replies: " + string.Join(" | ", replies));
    }

    [Fact]
    public async Task A_streamed_guided_reply_validates_and_equals_the_plain_one()
    {
        var validator = await JsonSchema.FromJsonAsync(Schema);
        var client = await server.Factory.StartedClient();
        var plain = (await (await client.PostAsJsonAsync("/v1/chat/completions", Body(JsonSchemaFormat(Schema), seed: 7)))
            .Content.ReadFromJsonAsync<ChatCompletion>())!.Choices[0].Message.Content;
        var raw = await (await client.PostAsJsonAsync("/v1/chat/completions", Body(JsonSchemaFormat(Schema), seed: 7, stream: true))).Content.ReadAsStringAsync();
        var chunks = raw.Split("\n\n", StringSplitOptions.RemoveEmptyEntries)[..^1]
            .Select(e => JsonSerializer.Deserialize<ChatCompletionChunk>(e["data: ".Length..])!).ToList();
        var streamed = string.Concat(chunks.Where(c => c.Choices.Count > 0).Select(c => c.Choices[0].Delta.Content));
        Assert.True(chunks.Count(c => c.Choices.Count > 0 && !string.IsNullOrEmpty(c.Choices[0].Delta.Content)) > 1);
        Assert.Equal(plain, streamed);
        Assert.Empty(validator.Validate(streamed));
        Assert.Equal("stop", chunks.Last(c => c.Choices.Count > 0).Choices[0].FinishReason);
    }

    [Fact]
    public async Task Sampled_choice_replies_are_one_of_the_choices()
    {
        string[] choices = ["I feel sad.", "I feel anxious and cannot sleep.", "我很难过", "Thank you"];
        var client = await server.Factory.StartedClient();
        for (long seed = 1; seed <= 6; seed++)
        {
            var completion = (await (await client.PostAsJsonAsync("/v1/chat/completions", Body(structured: new { choice = choices }, seed: seed)))
                .Content.ReadFromJsonAsync<ChatCompletion>())!;
            Assert.Contains(completion.Choices[0].Message.Content, choices);
            Assert.Equal("stop", completion.Choices[0].FinishReason);
        }
    }

    [Fact]
    public async Task Greedy_choice_among_single_token_strings_is_the_one_the_reference_ranks_first()
    {
        // Each of these is one byte-level token (id = byte) and has no other spelling, so greedy guided decoding
        // picks the most likely of them at the reply's first position: the float64 reference's ranking.
        string[] choices = ["a", "e", "i", "o", "u", "x", "_", "!"];
        var reference = ChatLogprobsHttpTests.Reference().Cases.Single(c => c.Name == "greedy").FirstLogprobs!;
        var expected = choices.MaxBy(c => reference[Encoding.UTF8.GetBytes(c)[0]]);
        var client = await server.Factory.StartedClient();
        var completion = (await (await client.PostAsJsonAsync("/v1/chat/completions", Body(structured: new { choice = choices }, temperature: 0)))
            .Content.ReadFromJsonAsync<ChatCompletion>())!;
        Assert.Equal(expected, completion.Choices[0].Message.Content);
        Assert.Equal(2, completion.Usage.CompletionTokens); // the choice, then end-of-sequence
    }

    [Fact]
    public async Task A_guided_reply_keeps_the_notices_out_of_its_content_and_in_their_fields()
    {
        using var factory = new ServiceFactory(new Dictionary<string, string?> { ["Models:Chat:Path"] = ChatFixtures.Dir(ChatFixtures.Qwen2) });
        var client = await factory.StartedClient();
        string[] choices = ["yes", "no"];
        var body = new
        {
            model = ChatFixtures.Qwen2, max_tokens = 8, structured_outputs = new { choice = choices },
            messages = new[] { new { role = "user", content = "I want to die" } },
        };
        var response = await client.PostAsJsonAsync("/v1/chat/completions", body);
        var completion = (await response.Content.ReadFromJsonAsync<ChatCompletion>())!;
        Assert.Contains(completion.Choices[0].Message.Content, choices);
        Assert.True(completion.Choices[0].CrisisNotice);
        Assert.Equal("true", response.Headers.GetValues("X-Crisis-Notice").Single());
        Assert.False(string.IsNullOrEmpty(completion.AiDisclosure));
    }

    public static TheoryData<string, string, string> BadRequests() => new()
    {
        { """{"response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "string", "pattern": "^a"}}}}""", "response_format", "'pattern'" },
        { """{"response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "object", "properties": {"a": {"type": "integer", "maximum": 3}}}}}}""", "response_format", "'maximum'" },
        { """{"response_format": {"type": "json_schema", "json_schema": {"name": "x"}}}""", "response_format", "schema is required" },
        { """{"response_format": {"type": "json_object"}}""", "response_format", "json_object is not supported" },
        { """{"response_format": {"type": "xml"}}""", "response_format", "must be text or json_schema" },
        { """{"structured_outputs": {"choice": []}}""", "structured_outputs", "1 to 1000 strings" },
        { """{"structured_outputs": {"choice": ["a", ""]}}""", "structured_outputs", "must not be empty" },
        { """{"structured_outputs": {"choice": ["a"]}, "response_format": {"type": "json_schema", "json_schema": {"schema": {"type": "null"}}}}""", "structured_outputs", "not both" },
    };

    [Theory]
    [MemberData(nameof(BadRequests))]
    public async Task An_unusable_guided_request_is_a_400_naming_the_field(string fields, string param, string message)
    {
        var body = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(fields)!;
        body["model"] = JsonSerializer.SerializeToElement(ChatFixtures.Qwen2);
        body["messages"] = JsonSerializer.SerializeToElement(new[] { new { role = "user", content = "Hi" } });
        var client = await server.Factory.StartedClient();
        var response = await client.PostAsJsonAsync("/v1/chat/completions", body);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = (await response.Content.ReadFromJsonAsync<OpenAiErrorResponse>())!.Error;
        Assert.Equal(param, error.Param);
        Assert.Contains(message, error.Message);
    }
}
