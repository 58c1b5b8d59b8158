using System.Diagnostics;
using System.Globalization;
using Service.Inference.Generation;
using Service.Inference.Models.Decode;
using Service.Inference.Models.Llama;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Service.Benchmarks.Peers;

/// <summary>
/// `--decode-profile`: where a decode step's time goes at the chat shape, in float32 or the dtype asked for: the whole
/// step (forward, head, argmax) written out and through the modules, against the same step's matrix products alone
/// (float32 rows, as the written-out step multiplies them), at batch 1 and 8, interleaved rounds.
/// </summary>
public static class DecodeProfile
{
    /// <summary>DECODE_PROFILE_DIR names a directory to keep the 2 GB checkpoint in between runs; otherwise a temporary one is written and deleted.</summary>
    public static void Run(LlamaConfig config, ScalarType dtype, TextWriter log)
    {
        var kept = Environment.GetEnvironmentVariable("DECODE_PROFILE_DIR");
        var directory = kept ?? Directory.CreateTempSubdirectory("bench-profile-").FullName;
        try
        {
            if (!File.Exists(Path.Combine(directory, "config.json"))) ChatCheckpoint.Write(directory, config);
            Profile(directory, config, dtype, log);
        }
        finally
        {
            if (kept is null) Directory.Delete(directory, recursive: true);
        }
    }

    static void Profile(string directory, LlamaConfig config, ScalarType dtype, TextWriter log)
    {
        using var mode = torch.inference_mode();
        using var model = (LlamaForCausalLM)Inference.Models.CausalLanguageModelLoader.Load(Inference.Checkpoints.CheckpointDirectory.Open(directory), torch.CPU, dtype);
        log.WriteLine($"{dtype}: the step {(model.DecodesWrittenOut ? "written out" : "through the modules")}");
        var linears = model.named_modules().Select(m => m.module).OfType<Linear>().ToList();
        var embedding = model.named_modules().Select(m => m.module).OfType<Embedding>().Single();
        {
            using var a = model.NewCache(64);
            using var b = model.NewCache(64);
            var prompt = torch.arange(32, dtype: ScalarType.Int64).unsqueeze(0);
            model.Forward(prompt, a).Dispose();
            model.Forward(prompt, b).Dispose();
            double worst = 0;
            for (int step = 0; step < 16; step++)
            {
                using var scope = torch.NewDisposeScope();
                var ids = torch.full([1, 1], 100L + step, dtype: ScalarType.Int64);
                model.WrittenOutStep = true;
                var written = model.DecodeBatch(ids, [a]);
                model.WrittenOutStep = false;
                var modules = model.DecodeBatch(ids, [b]);
                worst = Math.Max(worst, (written - modules).abs().max().to(ScalarType.Float32).item<float>());
            }
            model.WrittenOutStep = true;
            log.WriteLine($"written-out vs module step, 16 steps: max |hidden difference| {worst:G3}");
        }
        foreach (int batch in new[] { 1, 8 })
        {
            var caches = Enumerable.Range(0, batch).Select(_ => model.NewCache(256)).ToList();
            foreach (var cache in caches) model.Forward(torch.arange(32, dtype: ScalarType.Int64).unsqueeze(0), cache).Dispose();
            var (written, modules, products) = (new List<double>(), new List<double>(), new List<double>());
            Action Step(bool writtenOut) => () =>
            {
                using var scope = torch.NewDisposeScope();
                model.WrittenOutStep = writtenOut;
                var ids = torch.full([batch, 1], 7L, dtype: ScalarType.Int64);
                var logits = model.Logits(model.DecodeBatch(ids, caches).select(1, 0));
                for (int i = 0; i < batch; i++) Sampler.Greedy(logits[i]);
            };
            for (int round = 0; round < 5; round++)
            {
                written.Add(Time(Step(true)));
                modules.Add(Time(Step(false)));
                products.Add(Time(() =>
                {
                    using var scope = torch.NewDisposeScope();
                    foreach (var linear in linears) DecodeProjection.Linear(linear, torch.ones(batch, linear.weight!.shape[1]));
                    DecodeProjection.Linear(embedding, torch.ones(batch, embedding.weight!.shape[1]));
                }));
            }
            model.WrittenOutStep = true;
            if (batch == 1)
            {
                using var scope = torch.NewDisposeScope();
                var row = model.Logits(model.DecodeBatch(torch.full([1, 1], 7L, dtype: ScalarType.Int64), caches).select(1, 0))[0];
                using var generator = Sampler.NewGenerator(7);
                var soulChat = new SamplingParameters(0.95, 0.75);
                log.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"sampling one row (top-p 0.75, temperature 0.95): {Time(() => Sampler.Next(row, soulChat, [], generator), 20):F2} ms; greedy {Time(() => Sampler.Greedy(row), 20):F2} ms"));
            }
            log.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"batch {batch}, {caches[0].Length} cached: written-out step {Measure.Median(written):F1} ms, module step {Measure.Median(modules):F1} ms, their products alone {Measure.Median(products):F1} ms"));
            foreach (var cache in caches) cache.Dispose();
        }
    }

    static double Time(Action action, int n = 8)
    {
        action();
        long start = Stopwatch.GetTimestamp();
        for (int i = 0; i < n; i++) action();
        return Stopwatch.GetElapsedTime(start).TotalMilliseconds / n;
    }
}
