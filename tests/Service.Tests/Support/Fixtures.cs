using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Logging.Abstractions;
using Service.Inference.Models;
using Service.Inference.Models.Onnx;
using TorchSharp;

namespace Service.Tests.Support;

/// <summary>The committed checkpoints of tests/fixtures and their PyTorch reference outputs.</summary>
public static class Fixtures
{
    public static readonly string[] MaskedLms = ["bert-tiny", "bert-tiny-bf16-sharded", "xlmr-tiny"];

    public static string Dir(string name) => Path.Combine(AppContext.BaseDirectory, "fixtures", name);

    /// <summary>What can run fill-mask on a float32 CPU model (Inference:FillMaskRuntime): tests run both.</summary>
    public static readonly string[] FillMaskRuntimes = ["torch", "onnxruntime"];

    /// <summary>A fixture masked LM in float32 on the CPU, its fill-mask calls run by the given runtime.</summary>
    public static MaskedLmBundle LoadMaskedLm(string name, string runtime)
    {
        var bundle = MaskedLanguageModelLoader.Load(Dir(name), torch.CPU, torch.ScalarType.Float32);
        return (MaskedLmBundle)FillMaskRuntime.Apply(bundle, runtime, NullLogger.Instance);
    }

    public static Expected Expected(string name) =>
        JsonSerializer.Deserialize<Expected>(File.ReadAllText(Path.Combine(Dir(name), "expected.json")))!;

    /// <summary>A scratch copy of a fixture that a test may damage.</summary>
    public static string CopyToTemp(string name)
    {
        var target = Directory.CreateTempSubdirectory($"{name}-").FullName;
        foreach (var file in Directory.GetFiles(Dir(name)))
            File.Copy(file, Path.Combine(target, Path.GetFileName(file)));
        return target;
    }
}

public sealed record Expected(
    [property: JsonPropertyName("cases")] IReadOnlyList<ExpectedCase> Cases,
    [property: JsonPropertyName("padded_batch")] ExpectedBatch? PaddedBatch,
    [property: JsonPropertyName("hidden_state_means")] double[][]? HiddenStateMeans);

public sealed record ExpectedCase(
    [property: JsonPropertyName("text")] string Text,
    [property: JsonPropertyName("input_ids")] int[] InputIds,
    [property: JsonPropertyName("mask_positions")] int[] MaskPositions,
    [property: JsonPropertyName("probs_at_masks")] double[][] ProbsAtMasks,
    [property: JsonPropertyName("top_ids")] int[][] TopIds);

public sealed record ExpectedBatch(
    [property: JsonPropertyName("texts")] string[] Texts,
    [property: JsonPropertyName("probs_at_masks")] double[][][] ProbsAtMasks);
