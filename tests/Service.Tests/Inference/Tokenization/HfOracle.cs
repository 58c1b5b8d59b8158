using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Service.Tests.Support;

namespace Service.Tests.Inference.Tokenization;

/// <summary>
/// Hugging Face's own tokenizer code on a fixture's tokenizer.json (<see cref="HfTokenizerJson"/>):
/// the Rust `tokenizers` library (NuGet Tokenizers.DotNet, the code transformers' fast tokenizers
/// run) encodes with special tokens and decodes with skip_special_tokens=True; tokenizers.js
/// (npm @huggingface/tokenizers, through node) decodes with special tokens kept and looks tokens up.
/// </summary>
public sealed class HfOracle : IDisposable
{
    readonly Tokenizers.DotNet.Tokenizer _rust;
    readonly string _tokenizerJson;
    readonly JsonNode _config;
    readonly bool _cleanUp;

    /// <summary>The model's own mask token, which the oracle's input text must use.</summary>
    public string MaskToken { get; }

    HfOracle(string tokenizerJson, JsonNode config, string maskToken)
    {
        _tokenizerJson = tokenizerJson;
        _config = config;
        _cleanUp = config["clean_up_tokenization_spaces"]?.GetValue<bool>() ?? false;
        MaskToken = maskToken;
        _rust = new Tokenizers.DotNet.Tokenizer(tokenizerJson);
    }

    public static HfOracle For(string fixture)
    {
        var dir = Fixtures.Dir(fixture);
        bool xlmr = File.Exists(Path.Combine(dir, "sentencepiece.bpe.model"));
        var json = Path.Combine(Directory.CreateTempSubdirectory($"{fixture}-hf-").FullName, "tokenizer.json");
        File.WriteAllText(json, xlmr ? HfTokenizerJson.XlmRoberta(dir) : HfTokenizerJson.Bert(dir));
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "tokenizer_config.json")))!;
        return new HfOracle(json, config, xlmr ? "<mask>" : "[MASK]");
    }

    /// <summary>`tokenizer(text)["input_ids"]`: special tokens added; `[MASK]` in the text is read as the model's mask token.</summary>
    public int[] Encode(string text) => [.. _rust.Encode(text.Replace("[MASK]", MaskToken)).Select(id => (int)id)];

    /// <summary>`tokenizer.decode(ids, skip_special_tokens=True)`: the Rust decoder, then transformers' clean-up when the config asks.</summary>
    public string DecodeSkippingSpecialTokens(IReadOnlyList<int> ids)
    {
        var text = _rust.Decode([.. ids.Select(id => (uint)id)]);
        return _cleanUp ? CleanUpTokenization(text) : text;
    }

    /// <summary>`tokenizer.decode(ids)` (special tokens kept) for each id list, by tokenizers.js.</summary>
    public string[] DecodeKeepingSpecialTokens(IReadOnlyList<int[]> batch) =>
        Node(new JsonObject { ["decode"] = new JsonArray([.. batch.Select(ids => new JsonObject { ["ids"] = new JsonArray([.. ids.Select(i => JsonValue.Create(i))]), ["skip_special_tokens"] = false })]) })
            .GetProperty("decoded").EnumerateArray().Select(e => e.GetString()!).ToArray();

    /// <summary>`tokenizer.get_vocab().get(token)` for each token, by tokenizers.js.</summary>
    public int?[] VocabularyIds(IReadOnlyList<string> tokens) =>
        Node(new JsonObject { ["vocab"] = new JsonArray([.. tokens.Select(t => JsonValue.Create(t))]) })
            .GetProperty("ids").EnumerateArray().Select(e => e.ValueKind == JsonValueKind.Null ? (int?)null : e.GetInt32()).ToArray();

    /// <summary>transformers' `PreTrainedTokenizerBase.clean_up_tokenization`.</summary>
    public static string CleanUpTokenization(string text) => text
        .Replace(" .", ".").Replace(" ?", "?").Replace(" !", "!").Replace(" ,", ",").Replace(" ' ", "'")
        .Replace(" n't", "n't").Replace(" 'm", "'m").Replace(" 's", "'s").Replace(" 've", "'ve").Replace(" 're", "'re");

    JsonElement Node(JsonObject request)
    {
        request["tokenizer"] = _tokenizerJson;
        request["config"] = _config.DeepClone();
        var oracleDir = Path.Combine(RepositoryRoot(), "tests", "hf-oracle");
        Assert.True(File.Exists(Path.Combine(oracleDir, "node_modules", "@huggingface", "tokenizers", "package.json")),
            $"@huggingface/tokenizers is not installed: run `npm ci` in {oracleDir} (the test build does).");
        var start = new ProcessStartInfo("node", ["fill-mask-oracle.mjs"])
        {
            WorkingDirectory = oracleDir,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var node = Process.Start(start)!;
        node.StandardInput.Write(request.ToJsonString());
        node.StandardInput.Close();
        var stdout = node.StandardOutput.ReadToEndAsync();
        var stderr = node.StandardError.ReadToEndAsync();
        Assert.True(node.WaitForExit(TimeSpan.FromSeconds(60)), "node did not answer within 60 s");
        Assert.True(node.ExitCode == 0, $"node exited with {node.ExitCode}: {stderr.Result}");
        return JsonDocument.Parse(stdout.Result).RootElement.Clone();
    }

    static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Service.sln"))) return dir.FullName;
        throw new DirectoryNotFoundException("Service.sln not found above the test output directory.");
    }

    public void Dispose() => _rust.Dispose();
}
