using System.Diagnostics;
using System.Text;
using Service.Inference.Generation.Guided;
using Service.Inference.Tokenization;
using Service.Tests.Inference.Tokenization;
using Xunit.Abstractions;

namespace Service.Tests.Inference.Generation;

/// <summary>
/// Token bytes and guided masks on real vocabularies (the tokenizer files tests/hf-oracle installs): the bytes of
/// a text's tokens join into the text, also where tokens split characters; the mask of a choice grammar over
/// 151k tokens is exactly the set of tokens that keep the reply a prefix of a choice, judged here by plain byte comparison.
/// </summary>
public sealed class RealVocabularyGuideTests(ITestOutputHelper output)
{
    static HuggingFaceChatTokenizer Load(string name) => HuggingFaceChatTokenizer.Load(RealTokenizers.TokenizerJson(name), RealTokenizers.TokenizerConfig(name));

    [Theory]
    [InlineData("qwen2_5")]
    [InlineData("llama3")]
    public void The_bytes_of_a_texts_byte_level_tokens_join_into_the_text(string name)
    {
        var tokenizer = Load(name);
        foreach (var text in RealTokenizers.Texts(RealTokenizers.TokenizerJson(name)).Take(400))
        {
            var bytes = tokenizer.Encode(text).SelectMany(tokenizer.TokenBytes).ToArray();
            Assert.Equal(Encoding.UTF8.GetBytes(tokenizer.Decode(tokenizer.Encode(text))), bytes);
        }
        // A piece of a character: its text alone is U+FFFD, its bytes are the real ones.
        var pieces = tokenizer.Encode("𠀀");
        Assert.True(pieces.Length > 1);
        Assert.Contains("\uFFFD", tokenizer.TokenText(pieces[0]));
        Assert.Equal(Encoding.UTF8.GetBytes("𠀀"), pieces.SelectMany(tokenizer.TokenBytes).ToArray());
    }

    [Fact]
    public void A_choice_mask_over_a_real_vocabulary_allows_exactly_the_tokens_that_stay_on_a_choice()
    {
        var tokenizer = Load("qwen2_5");
        int vocab = 151_936;
        var clock = Stopwatch.StartNew();
        var table = TokenTable.For(tokenizer, vocab);
        output.WriteLine($"token table of {vocab} ids: {clock.ElapsedMilliseconds} ms");
        string[] choices = ["Hello world", "Help me, 我很难过", "Thanks"];
        var end = new HashSet<int> { tokenizer.EndOfSequenceId!.Value };
        var guide = new TokenGuide(new GuideOptions(OutputGrammar.Choice(choices), table), end);
        var written = new List<byte>();
        foreach (int next in tokenizer.Encode("Help me, 我很难过"))
        {
            clock.Restart();
            var allowed = guide.Allowed(vocab);
            output.WriteLine($"mask after {written.Count} bytes: {clock.Elapsed.TotalMilliseconds:0.0} ms, {allowed.Count(a => a)} allowed");
            for (int id = 0; id < vocab; id++)
            {
                var candidate = written.Concat(table.Bytes[id]).ToArray();
                bool expected = !end.Contains(id) && table.Bytes[id].Length > 0 && !table.Dropped[id]
                    && choices.Any(c => Encoding.UTF8.GetBytes(c).AsSpan().StartsWith(candidate));
                Assert.True(expected == allowed[id], $"id {id} ('{table.Texts[id]}') after {written.Count} bytes: expected {expected}");
            }
            Assert.True(allowed[next]);
            guide.Advance(next);
            written.AddRange(table.Bytes[next]);
        }
        var final = guide.Allowed(vocab);
        Assert.Equal(end.Single(), Assert.Single(Enumerable.Range(0, vocab), id => final[id]));
    }

    [Fact]
    public void Inside_a_json_string_text_tokens_and_the_closing_quote_are_allowed_and_a_quote_with_more_after_it_is_not()
    {
        var tokenizer = Load("qwen2_5");
        var table = TokenTable.For(tokenizer, 151_936);
        var schema = System.Text.Json.JsonDocument.Parse("""{"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]}""").RootElement;
        int Id(string text) => Assert.Single(tokenizer.Encode(text));
        TokenGuide Guide() => new(new GuideOptions(OutputGrammar.JsonSchema(schema), table), new HashSet<int> { tokenizer.EndOfSequenceId!.Value });
        Guide().Allowed(151_936); // the first mask sorts the vocabulary by bytes, once per tokenizer
        var guide = Guide();
        foreach (int id in tokenizer.Encode("{\"a\":\"")) guide.Advance(id);
        var clock = Stopwatch.StartNew();
        var allowed = guide.Allowed(151_936);
        output.WriteLine($"mask inside a string: {clock.Elapsed.TotalMilliseconds:0.0} ms, {allowed.Count(a => a)} allowed");
        guide.Advance(Id(" hello"));
        clock.Restart();
        var next = guide.Allowed(151_936);
        output.WriteLine($"next mask in the same string (same signature): {clock.Elapsed.TotalMilliseconds:0.00} ms");
        Assert.Equal(allowed, next); // an unbounded string's body allows the same tokens at every step
        Assert.True(allowed[Id(" hello")]);
        Assert.True(allowed[Id("\"}")]);   // the closing quote and the object's end in one token
        Assert.False(allowed[Id("\",")]);  // a comma would need another required property: there is none
        Assert.False(allowed[Id("\n")]);   // a raw newline is a control character
        Assert.False(allowed[tokenizer.EndOfSequenceId!.Value]);
    }
}
