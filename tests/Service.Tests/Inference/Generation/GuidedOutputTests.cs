using System.Text;
using System.Text.Json;
using Service.Inference;
using Service.Inference.Generation.Guided;

namespace Service.Tests.Inference.Generation;

/// <summary>
/// The byte-level recognizers behind guided output: documents valid against a schema (judged by hand and
/// serialized by System.Text.Json) are accepted to completion, and a document breaking one rule is refused at the byte that breaks it.
/// </summary>
public sealed class GuidedOutputTests
{
    const string Schema = """
        {"type": "object", "properties": {
            "name": {"type": "string", "minLength": 1, "maxLength": 8},
            "age": {"type": "integer"},
            "score": {"type": "number"},
            "mood": {"enum": ["sad", "calm", 12, null]},
            "ok": {"type": "boolean"},
            "tags": {"type": "array", "items": {"type": "string", "maxLength": 3}, "minItems": 1, "maxItems": 2},
            "kind": {"const": "note"},
            "inner": {"type": "object", "properties": {"n": {"type": "null"}}, "required": ["n"]}},
         "required": ["name", "age", "kind"]}
        """;

    static OutputGrammar Grammar(string schema = Schema) => OutputGrammar.JsonSchema(JsonDocument.Parse(schema).RootElement);

    /// <summary>The state after every byte of the text, or the index of the first byte refused.</summary>
    static (OutputState? State, int RefusedAt) Run(OutputGrammar grammar, string text)
    {
        var state = grammar.Start();
        var bytes = Encoding.UTF8.GetBytes(text);
        for (int i = 0; i < bytes.Length; i++)
        {
            state = state.Feed(bytes[i]);
            if (state is null) return (null, i);
        }
        return (state, -1);
    }

    [Theory]
    [InlineData("""{"name":"Ana","age":30,"kind":"note"}""")]
    [InlineData("""{"name":"Zoë 🙂","age":-7,"score":0.25,"mood":12,"ok":false,"tags":["a","xyz"],"kind":"note","inner":{"n":null}}""")]
    [InlineData("""{"name":"a\"\u00e9","age":0,"mood":null,"kind":"note"}""")]
    public void A_valid_document_is_accepted_to_completion(string json)
    {
        Assert.NotNull(JsonDocument.Parse(json)); // the test's own documents are JSON
        var (state, refused) = Run(Grammar(), json);
        Assert.Equal(-1, refused);
        Assert.True(state!.IsComplete);
        Assert.Null(state.Feed((byte)' ')); // nothing may follow a complete object
    }

    [Theory]
    [InlineData("""{"age":30""", "{\"")]                                        // a required property skipped
    [InlineData("""{"name":"Ana","age":30,"kind":"note","extra":1}""", "{\"name\":\"Ana\",\"age\":30,\"kind\":\"note\",\"")] // only "inner" may follow
    [InlineData("""{"name":"","age":1""", "{\"name\":\"")]                      // minLength 1
    [InlineData("""{"name":"abcdefghi""", "{\"name\":\"abcdefgh")]              // maxLength 8
    [InlineData("""{"name":"a","age":1.5""", "{\"name\":\"a\",\"age\":1")]     // an integer has no fraction
    [InlineData("""{"name":"a","age":01""", "{\"name\":\"a\",\"age\":0")]      // no leading zero
    [InlineData("""{"name":"a","age":1,"mood":"happy""", "{\"name\":\"a\",\"age\":1,\"mood\":\"")] // not in the enum
    [InlineData("""{"name":"a","age":1,"tags":[]""", "{\"name\":\"a\",\"age\":1,\"tags\":[")]     // minItems 1
    [InlineData("""{"name":"a","age":1,"tags":["a","b","c"]""", "{\"name\":\"a\",\"age\":1,\"tags\":[\"a\",\"b\"")] // maxItems 2
    [InlineData("""{"age":1,"name":"a""", "{\"")]                               // properties come in the schema's order
    [InlineData("""{ "name":"a""", "{")]                                        // compact: no whitespace
    [InlineData("{\"name\":\"a\nb\"", "{\"name\":\"a")]                        // control characters must be escaped
    [InlineData("{\"name\":\"1234567🙂\"", "{\"name\":\"1234567")]                // 🙂 is 2 UTF-16 units: 9 > maxLength 8 for some validators
    public void A_document_breaking_a_rule_is_refused_at_the_breaking_byte(string json, string acceptedPrefix)
    {
        var (_, refused) = Run(Grammar(), json);
        Assert.Equal(Encoding.UTF8.GetByteCount(acceptedPrefix), refused);
    }

    [Theory]
    [InlineData(new byte[] { 0xED, 0xA0, 0x80 })] // a UTF-16 surrogate written as UTF-8
    [InlineData(new byte[] { 0xE0, 0x80, 0xAF })] // an overlong "/"
    [InlineData(new byte[] { 0xF4, 0x90, 0x80, 0x80 })] // past U+10FFFF
    public void Ill_formed_UTF8_in_a_string_is_refused_at_its_second_byte(byte[] bad)
    {
        var state = Grammar().Start();
        foreach (byte b in Encoding.UTF8.GetBytes("{\"name\":\"")) state = state!.Feed(b);
        state = state!.Feed(bad[0]);
        Assert.NotNull(state);
        Assert.Null(state.Feed(bad[1]));
    }

    [Fact]
    public void Choices_accept_exactly_their_strings_and_a_choice_that_prefixes_another_may_end_or_go_on()
    {
        var grammar = OutputGrammar.Choice(["yes", "yes please", "不"]);
        Assert.True(Run(grammar, "yes").State!.IsComplete);
        Assert.NotNull(Run(grammar, "yes").State!.Feed((byte)' '));
        Assert.True(Run(grammar, "yes please").State!.IsComplete);
        Assert.False(Run(grammar, "yes pl").State!.IsComplete);
        Assert.True(Run(grammar, "不").State!.IsComplete);
        Assert.Equal(1, Run(grammar, "yo").RefusedAt);
    }

    [Fact]
    public void A_top_level_number_is_complete_while_it_may_still_grow()
    {
        var grammar = Grammar("""{"type": "number"}""");
        Assert.True(Run(grammar, "-12").State!.IsComplete);
        Assert.False(Run(grammar, "-12.").State!.IsComplete);
        Assert.True(Run(grammar, "-12.5").State!.IsComplete);
        Assert.Equal(15, Run(grammar, new string('9', 17)).RefusedAt); // at most 15 digits
    }

    [Theory]
    [InlineData("""{"type": "string", "pattern": "^a"}""", "'pattern'")]
    [InlineData("""{"type": "string", "format": "date-time"}""", "'format'")]
    [InlineData("""{"type": "integer", "minimum": 0}""", "'minimum'")]
    [InlineData("""{"anyOf": [{"type": "string"}], "type": "string"}""", "'anyOf'")]
    [InlineData("""{"type": "object", "properties": {"a": {"$ref": "#/x"}}}""", "schema.properties.a needs a type")]
    [InlineData("""{"type": ["string", "null"]}""", "a list of types is not supported")]
    [InlineData("""{"type": "array"}""", "needs items")]
    [InlineData("""{"type": "object", "properties": {}, "required": ["a"]}""", "required names 'a'")]
    [InlineData("""{"type": "string", "minLength": 3, "maxLength": 2}""", "minLength 3 is larger than maxLength 2")]
    public void An_unsupported_or_contradictory_schema_is_a_validation_error_naming_the_keyword(string schema, string message)
    {
        var error = Assert.Throws<InferenceException>(() => Grammar(schema));
        Assert.Equal(InferenceErrorKind.Invalid, error.Kind);
        Assert.Equal("response_format", error.Parameter);
        Assert.Contains(message, error.Message);
    }
}
