using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Service.Tests.Support;

namespace Service.Tests.Api.Errors;

/// <summary>
/// Hundreds of malformed bodies against every POST/PUT route: each must get a 4xx with problem details
/// whose detail is not empty, never a 5xx, and the service must stay ready. Seeded, so a failure
/// reproduces; the failing case is named in the assertion message.
/// </summary>
public sealed class BadInputFuzzTests
{
    /// <summary>A route under fuzz: its method and path, a valid body to mutate, and field values that make it invalid.</summary>
    public sealed record Route(string Method, string Path, string ValidBody, IReadOnlyDictionary<string, string[]> InvalidFields);

    // Values that are wrong for any field of any route here.
    static readonly string[] WrongForAnyField =
        ["{}", "true", "\"\"", "1e400", "99999999999999999999999999", "-1", "[[[[[[[[[[]]]]]]]]]]", "{\"a\": {\"b\": [null]}}"];

    static readonly string[] BadProjection = ["5", "\"on\"", "[]", "{\"enabled\": \"yes\"}", "{\"lirp_layer\": \"NaN\"}", "{\"lsrp_layer\": 1.5}"];
    // Layers out of order or range: refused for a query (English's layers are checked too), not for an English probe set, which is never projected.
    static readonly string[] BadLayers = ["{\"lirp_layer\": 3, \"lsrp_layer\": 1}", "{\"lirp_layer\": -1, \"lsrp_layer\": 1000}"];

    static readonly string Fact = """{"id": "P36#1", "relation": "P36", "language": "en", "template": "[X] is the capital of [Y].", "subject": "France", "object": "Paris", "candidates": ["Paris", "Berlin"]}""";

    /// <summary>Every POST/PUT route. A new route (e.g. /v1/chat/completions) is one more entry here.</summary>
    public static readonly Route[] Routes =
    [
        new("POST", "/v1/fill-mask", """{"text": "Paris is the capital of [MASK].", "top_k": 3, "language": "en"}""", new Dictionary<string, string[]>
        {
            ["text"] = ["null", "123", "[]", "\"no mask here\"", "\"[CLS] <s> </s> [SEP] [PAD] <pad> [UNK]\"", "\"\\ud800 lone surrogate\"", $"\"{string.Concat(Enumerable.Repeat("the ", 3000))}[MASK]\"", "\"[MASK] [MASK] [MASK] [MASK] [MASK] [MASK] [MASK]\""],
            ["top_k"] = ["0", "101", "\"five\"", "1.5", "null, \"top_k\": 0", "[]"],
            ["language"] = ["\"\"", "\"english!\"", "\"x\"", "\"far-too-long-language\"", "12", "[]", "\"\\u0000\""],
            ["targets"] = ["[]", "[null]", "\"France\"", "5", "[5]", "[\"\"]"],
            ["projection"] = [.. BadProjection, .. BadLayers],
        }),
        new("PUT", "/v1/language-vectors/fr", """{"sentences": ["Paris est la capitale de la France.", "Le fleuve est long."]}""", new Dictionary<string, string[]>
        {
            ["sentences"] = ["null", "[]", "[null]", "[\"\"]", "[\"   \"]", "\"one sentence\"", "5", "[5]", "[true]", "[[\"nested\"]]",
                $"[{string.Join(',', Enumerable.Repeat("\"a\"", 10_001))}]"],
        }),
        new("POST", "/v1/chat/completions", """{"model": "demo-tiny-llama", "messages": [{"role": "user", "content": "Hello"}], "max_tokens": 2, "temperature": 0}""", new Dictionary<string, string[]>
        {
            ["messages"] = ["null", "[]", "5", "\"hi\"", "[null]", "[{}]", "[{\"role\": \"robot\", \"content\": \"hi\"}]", "[{\"role\": \"user\", \"content\": 5}]",
                "[{\"role\": \"assistant\", \"content\": \"only an answer\"}]", $"[{{\"role\": \"user\", \"content\": \"{string.Concat(Enumerable.Repeat("word ", 4000))}\"}}]"],
            ["temperature"] = ["-1", "5", "\"hot\"", "[]"],
            ["top_p"] = ["0", "1.5", "-0.1", "\"all\""],
            ["max_tokens"] = ["0", "-5", "1e12", "\"many\""],
            ["n"] = ["9", "0", "-1", "\"one\""],
            ["stop"] = ["5", "[1, 2]", "{}"],
            ["seed"] = ["\"x\"", "1.5"],
            ["model"] = ["5", "\"no-such-model\""],
        }),
        new("POST", "/v1/probes/evaluate", $$"""{"facts": [{{Fact}}]}""", new Dictionary<string, string[]>
        {
            ["facts"] = ["null", "[]", "[null]", "[{}]", "\"x\"", "5", "[5]", "[[]]",
                Fact.Replace("\"P36#1\"", "5"), Fact.Replace("\"template\": \"[X] is the capital of [Y].\", ", ""),
                Fact.Replace("[\"Paris\", \"Berlin\"]", "[\"\"]"), Fact.Replace("\"language\": \"en\"", "\"language\": \"??\""),
                Fact.Replace("\"subject\": \"France\"", "\"subject\": null")],
            ["projection"] = BadProjection,
        }),
    ];

    /// <summary>Paths of the same routes with an invalid path parameter; their bodies are valid.</summary>
    static readonly string[] BadLanguagePaths = ["/v1/language-vectors/not-a-language!", "/v1/language-vectors/x", "/v1/language-vectors/12345", "/v1/language-vectors/%F0%9F%98%80"];

    // A lone byte 0xFF, a truncated 2-byte and 3-byte sequence, a bad continuation, an overlong '/', an encoded surrogate.
    static readonly byte[][] InvalidUtf8 = [[0xFF], [0xC3, 0x28], [0xE2, 0x82], [0xF0, 0x28, 0x8C, 0xBC], [0xC0, 0xAF], [0xED, 0xA0, 0x80]];

    public sealed record Case(string Name, string Method, string Path, byte[] Body, string ContentType = "application/json");

    static IEnumerable<Case> Cases(int seed, int perRoute)
    {
        var random = new Random(seed);
        foreach (var route in Routes)
        {
            Case Make(string name, byte[] body) => new($"{route.Method} {route.Path} {name}", route.Method, route.Path, body);
            Case Text(string name, string body) => Make(name, Encoding.UTF8.GetBytes(body));
            var valid = route.ValidBody;
            var fields = route.InvalidFields.Keys.ToArray();

            // Fixed cases: whole-body shapes every route must refuse.
            foreach (var root in new[] { "", "null", "[]", "\"text\"", "1", "true", "{}", "{", "NaN", "Infinity", "-Infinity", "{\"a\": NaN}", "{\"text\": Infinity}" })
                yield return Text($"root {root}", root);
            yield return Text("nested 10000 arrays", new string('[', 10_000) + new string(']', 10_000));
            yield return Text("nested 10000 objects in a field", "{\"" + fields[0] + "\": " + string.Concat(Enumerable.Repeat("{\"a\": ", 10_000)) + "1" + new string('}', 10_001));
            yield return Text("oversized (2 MiB)", valid[..^1] + ", \"padding\": \"" + new string('x', 2 * 1024 * 1024) + "\"}");
            yield return new Case($"{route.Method} {route.Path} text/plain", route.Method, route.Path, Encoding.UTF8.GetBytes(valid), "text/plain");

            for (int i = 0; i < perRoute; i++)
            {
                string field = fields[random.Next(fields.Length)];
                var values = route.InvalidFields[field];
                string value = random.Next(4) == 0 ? WrongForAnyField[random.Next(WrongForAnyField.Length)] : values[random.Next(values.Length)];
                switch (random.Next(6))
                {
                    case 0: // the field replaced (or added) with a wrong value; unknown extra fields around it
                        yield return Text($"#{i} {field}={Short(value)}", $"{{\"unknown_{random.Next(100)}\": {random.Next()}, \"{field}\": {value}}}");
                        break;
                    case 1: // a duplicate key whose last (winning) value is wrong
                        yield return Text($"#{i} duplicate {field}={Short(value)}", valid[..^1] + $", \"{field}\": {value}}}");
                        break;
                    case 2: // truncated anywhere before the end
                        int cut = random.Next(valid.Length - 1);
                        yield return Text($"#{i} truncated at {cut}", valid[..cut]);
                        break;
                    case 3: // invalid UTF-8 bytes inside the valid body
                        // inside a string value: a property name is only compared, never decoded, so an unknown one passes (as it should)
                        var inside = ValueStringOffsets(valid);
                        int at = Encoding.UTF8.GetByteCount(valid[..inside[random.Next(inside.Count)]]);
                        var bytes = Encoding.UTF8.GetBytes(valid).ToList();
                        byte[] bad = InvalidUtf8[random.Next(InvalidUtf8.Length)];
                        bytes.InsertRange(at, bad);
                        yield return Make($"#{i} invalid UTF-8 {Convert.ToHexString(bad)} at {at}", [.. bytes]);
                        break;
                    case 4: // a field's value replaced by one nested very deep
                        int depth = 65 + random.Next(2000);
                        yield return Text($"#{i} {field} nested {depth}", valid[..^1] + $", \"{field}\": {new string('[', depth)}{new string(']', depth)}}}");
                        break;
                    default: // a wrong value, wrapped in random whitespace, as the route's only field
                        yield return Text($"#{i} only {field}={Short(value)}", $"{{ \"{field}\"\n:\t{value} }}");
                        break;
                }
            }
            if (route.Path.StartsWith("/v1/language-vectors/", StringComparison.Ordinal))
                foreach (var path in BadLanguagePaths)
                    yield return new Case($"{route.Method} {path} (valid body)", route.Method, path, Encoding.UTF8.GetBytes(valid));
        }
    }

    /// <summary>Offsets inside string literals that are values, not property names.</summary>
    static List<int> ValueStringOffsets(string json)
    {
        var offsets = new List<int>();
        for (int i = 0; i < json.Length; i++)
        {
            if (json[i] != '"') continue;
            int end = json.IndexOf('"', i + 1);
            bool name = json[(end + 1)..].TrimStart().StartsWith(':');
            if (!name) offsets.AddRange(Enumerable.Range(i + 1, end - i - 1));
            i = end;
        }
        return offsets;
    }

    static string Short(string value) => value.Length <= 40 ? value : value[..40] + $"...({value.Length} chars)";

    [Fact]
    public async Task Malformed_bodies_get_4xx_problem_details_and_never_5xx()
    {
        using var factory = new ServiceFactory(new Dictionary<string, string?> { ["Security:RateLimit:TokenLimit"] = "0" });
        var client = await factory.StartedClient();
        var cases = Cases(seed: 20261123, perRoute: 100).ToList();
        Assert.True(cases.Count >= 300, $"{cases.Count} cases");

        var failures = new List<string>();
        foreach (var c in cases)
        {
            using var request = new HttpRequestMessage(new HttpMethod(c.Method), c.Path) { Content = new ByteArrayContent(c.Body) };
            request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(c.ContentType + (c.ContentType == "application/json" ? "; charset=utf-8" : ""));
            var response = await client.SendAsync(request);
            int status = (int)response.StatusCode;
            string? detail = null;
            var mediaType = response.Content.Headers.ContentType?.MediaType;
            if (mediaType is "application/problem+json" or "application/json")
            {
                // Problem details everywhere, OpenAI's {"error": {"message"}} on the OpenAI-compatible route.
                using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
                var root = problem.RootElement;
                detail = root.TryGetProperty("detail", out var d) ? d.GetString()
                    : root.TryGetProperty("error", out var e) && e.TryGetProperty("message", out var m) ? m.GetString() : null;
            }
            if (status is < 400 or >= 500 || string.IsNullOrWhiteSpace(detail))
                failures.Add($"{c.Name}: {status} detail={detail ?? "(none)"}");
        }
        Assert.True(failures.Count == 0, $"{failures.Count} of {cases.Count} cases failed:\n{string.Join('\n', failures.Take(30))}");

        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/ready")).StatusCode);
        foreach (var route in Routes) // the unmutated bodies are valid, so every mutation is tested for its own field
        {
            using var request = new HttpRequestMessage(new HttpMethod(route.Method), route.Path) { Content = new StringContent(route.ValidBody, Encoding.UTF8, "application/json") };
            var valid = await client.SendAsync(request);
            Assert.True(valid.StatusCode == HttpStatusCode.OK, $"{route.Method} {route.Path}: {(int)valid.StatusCode} {await valid.Content.ReadAsStringAsync()}");
        }
    }
}
