using Service.Inference.Checkpoints;
using Service.Inference.Models;
using Service.Inference.Models.Llama;
using Service.Tests.Support;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Service.Tests.Inference.Models;

/// <summary>
/// Tiny Llama (F32, GQA, Llama 3 rope scaling, separate head), Qwen2 (BF16, q/k/v biases, tied head) and
/// ChatGLM-6B (F16, DeepNorm, 2D rotary, prefix-LM mask) checkpoints against the float64 reference of
/// tests/fixtures/chat/generate.py.
/// </summary>
public sealed class DecoderParityTests(ITestOutputHelper output)
{
    public const double LogitTolerance = 5e-5;

    static ICausalLanguageModel Load(string nameOrDir) =>
        CausalLanguageModelLoader.Load(CheckpointDirectory.Open(Path.IsPathRooted(nameOrDir) ? nameOrDir : ChatFixtures.Dir(nameOrDir)), torch.CPU, ScalarType.Float32);

    [Theory]
    [InlineData(ChatFixtures.Llama)]
    [InlineData(ChatFixtures.Qwen2)]
    [InlineData(ChatFixtures.ChatGlm)]
    public void Logits_match_the_reference(string name)
    {
        using var model = Load(name);
        foreach (var expected in ChatFixtures.Expected(name).Cases)
        {
            var logits = FullLogits(model, expected.InputIds);
            double worst = 0;
            for (int t = 0; t < expected.Logits.Length; t++)
                for (int v = 0; v < expected.Logits[t].Length; v++)
                    worst = Math.Max(worst, Math.Abs(logits[t][v] - expected.Logits[t][v]));
            output.WriteLine($"{name}, prompt of {expected.InputIds.Length}: largest logit difference {worst:E2}");
            Assert.True(worst < LogitTolerance, $"{name}: largest logit difference {worst:E2}");
        }
    }

    [Theory]
    [InlineData(ChatFixtures.Llama)]
    [InlineData(ChatFixtures.Qwen2)]
    [InlineData(ChatFixtures.ChatGlm)]
    public void Greedy_decoding_with_the_cache_equals_the_reference_and_recomputation(string name)
    {
        using var model = Load(name);
        foreach (var expected in ChatFixtures.Expected(name).Cases)
        {
            var cached = GreedyWithCache(model, expected.InputIds, expected.Greedy.Length);
            var recomputed = GreedyRecomputing(model, expected.InputIds, expected.Greedy.Length);
            Assert.Equal(expected.Greedy, cached);
            Assert.Equal(expected.Greedy, recomputed);
        }
    }

    /// <summary>
    /// The serving path: each prompt prefilled in chunks of 3 (where the model allows it) into its own
    /// cache, then every case decoded greedily in one batch, each row at its own position.
    /// </summary>
    [Theory]
    [InlineData(ChatFixtures.Llama)]
    [InlineData(ChatFixtures.Qwen2)]
    [InlineData(ChatFixtures.ChatGlm)]
    public void Chunked_prefill_and_batched_decoding_reproduce_the_reference(string name)
    {
        using var model = Load(name);
        using var scope = torch.NewDisposeScope();
        using var mode = torch.inference_mode();
        var cases = ChatFixtures.Expected(name).Cases;
        int steps = cases.Min(c => c.Greedy.Length);
        var caches = cases.Select(c => model.NewCache(c.InputIds.Length + steps)).ToList();
        var next = new long[cases.Count];
        double worst = 0;
        for (int i = 0; i < cases.Count; i++)
        {
            var ids = cases[i].InputIds;
            int chunk = model.CanChunkPrefill ? 3 : ids.Length;
            for (int start = 0; start < ids.Length; start += chunk)
            {
                int take = Math.Min(chunk, ids.Length - start);
                var logits = model.Logits(model.Forward(Ids(ids[start..(start + take)]), caches[i])).to(ScalarType.Float64)[0];
                for (int t = 0; t < take; t++)
                    worst = Math.Max(worst, logits[t].data<double>().ToArray().Zip(cases[i].Logits[start + t], (a, b) => Math.Abs(a - b)).Max());
                next[i] = logits[take - 1].argmax().item<long>();
            }
        }
        output.WriteLine($"{name}: largest logit difference after chunked prefill {worst:E2}");
        Assert.True(worst < LogitTolerance, $"{name}: largest logit difference {worst:E2}");
        var generated = cases.Select(_ => new List<int>()).ToList();
        for (int step = 0; step < steps; step++)
        {
            for (int i = 0; i < cases.Count; i++) generated[i].Add((int)next[i]);
            var logits = model.Logits(model.DecodeBatch(torch.tensor(next, [cases.Count, 1]), caches).select(1, 0)); // [B, V]
            next = logits.argmax(-1).data<long>().ToArray();
        }
        for (int i = 0; i < cases.Count; i++) Assert.Equal(cases[i].Greedy[..steps], generated[i]);
        caches.ForEach(c => c.Dispose());
    }

    /// <summary>
    /// Every prompt fed one token per decode step, all cases in one batch from empty caches: every logit of every
    /// position then comes from the decode path (on a float32 CPU model the written-out step, asserted).
    /// </summary>
    [Theory]
    [InlineData(ChatFixtures.Llama)]
    [InlineData(ChatFixtures.Qwen2)]
    public void Decode_steps_alone_reproduce_the_reference_logits(string name)
    {
        using var model = (LlamaForCausalLM)Load(name);
        using var scope = torch.NewDisposeScope();
        using var mode = torch.inference_mode();
        var cases = ChatFixtures.Expected(name).Cases;
        int length = cases.Min(c => c.InputIds.Length);
        var caches = cases.Select(c => model.NewCache(length)).ToList();
        double worst = 0;
        for (int t = 0; t < length; t++)
        {
            var ids = torch.tensor(cases.Select(c => (long)c.InputIds[t]).ToArray(), [cases.Count, 1]);
            var logits = model.Logits(model.DecodeBatch(ids, caches).select(1, 0)).to(ScalarType.Float64); // [B, V]
            for (int i = 0; i < cases.Count; i++)
                worst = Math.Max(worst, logits[i].data<double>().ToArray().Zip(cases[i].Logits[t], (a, b) => Math.Abs(a - b)).Max());
        }
        Assert.True(model.DecodesWrittenOut, "a float32 CPU model decodes through the written-out step");
        output.WriteLine($"{name}: {cases.Count} prompts, {length} decode steps each: largest logit difference {worst:E2}");
        Assert.True(worst < LogitTolerance, $"{name}: largest logit difference {worst:E2}");
        caches.ForEach(c => c.Dispose());
    }

    [Fact]
    public void A_missing_weight_is_named()
    {
        var dir = CopyWithout(ChatFixtures.Llama, "model.layers.1.mlp.up_proj.weight");
        var error = Assert.Throws<CheckpointException>(() => Load(dir));
        Assert.Contains("model.layers.1.mlp.up_proj.weight", error.Message);
    }

    static double[][] FullLogits(ICausalLanguageModel model, int[] ids)
    {
        using var scope = torch.NewDisposeScope();
        using var mode = torch.inference_mode();
        using var cache = model.NewCache(ids.Length);
        var logits = model.Logits(model.Forward(Ids(ids), cache)).to(ScalarType.Float64)[0]; // [T, V]
        return [.. Enumerable.Range(0, ids.Length).Select(t => logits[t].data<double>().ToArray())];
    }

    static int[] GreedyWithCache(ICausalLanguageModel model, int[] prompt, int n)
    {
        using var scope = torch.NewDisposeScope();
        using var mode = torch.inference_mode();
        using var cache = model.NewCache(prompt.Length + n);
        var output = new List<int>();
        var next = Ids(prompt);
        for (int i = 0; i < n; i++)
        {
            var hidden = model.Forward(next, cache);
            int id = (int)model.Logits(hidden[0, -1]).argmax().item<long>();
            output.Add(id);
            next = Ids([id]);
        }
        return [.. output];
    }

    static int[] GreedyRecomputing(ICausalLanguageModel model, int[] prompt, int n)
    {
        var ids = prompt.ToList();
        for (int i = 0; i < n; i++)
        {
            var logits = FullLogits(model, [.. ids]);
            ids.Add(Array.IndexOf(logits[^1], logits[^1].Max()));
        }
        return [.. ids.Skip(prompt.Length)];
    }

    static Tensor Ids(int[] ids) => torch.tensor(ids.Select(i => (long)i).ToArray(), [1, ids.Length]);

    static string CopyWithout(string name, string key)
    {
        var dir = Directory.CreateTempSubdirectory($"{name}-").FullName;
        File.Copy(Path.Combine(ChatFixtures.Dir(name), "config.json"), Path.Combine(dir, "config.json"));
        var tensors = Support.SafeTensorsWriter.ReadAll(ChatFixtures.Dir(name));
        tensors.Remove(key);
        Support.SafeTensorsWriter.Write(Path.Combine(dir, "model.safetensors"), tensors);
        return dir;
    }
}
