using System.Diagnostics;
using System.Globalization;
using Service.Inference.Models.Decode;
using TorchSharp;
using static TorchSharp.torch;

namespace Service.Benchmarks.Peers;

/// <summary>
/// `--decode-peers`: only the batch-1 decode comparison with llama.cpp at the full chat shape (minutes, not the
/// hour of a full run), preceded by the decode kernel against libtorch's matrix-vector product on the
/// Qwen2-0.5B matrices (float32 and each half-precision dtype asked for), interleaved. For A/B work on decode speed; BENCHMARKS.md comes from the full run.
/// </summary>
public static class DecodePeerRun
{
    public static async Task RunAsync(BenchmarkSettings settings, TextWriter log)
    {
        MatVecComparison(settings.ChatDTypes, log);
        if (settings.ChatDTypes.Contains("int8")) Int8ProductComparison.Run(log);
        var config = settings.ChatConfig;
        foreach (var dtype in settings.ChatDTypes)
        {
            var directory = Directory.CreateTempSubdirectory("bench-decode-").FullName;
            try
            {
                ChatCheckpoint.Write(directory, config);
                bool int8 = dtype == "int8";
                if (int8) Int8LogitError(directory, steps: 256, log);
                using var service = await ServiceUnderTest.StartAsync(new Dictionary<string, string?>
                {
                    ["Models:Chat:Path"] = directory,
                    ["Models:Chat:PromptFormat"] = "chatml",
                    ["Chat:Safety:AiDisclosure"] = "",
                    ["Models:Chat:DType"] = int8 ? "float32" : dtype,
                    ["Models:Chat:Weights"] = int8 ? "int8" : "",
                });
                var prompt = await service.Host.RunAsync(m => m.Chat!.Prepare(new Inference.Chat.ChatQuery(
                    [new Inference.Chat.ChatMessage(Inference.Chat.ChatRole.User, "I feel tired and worried about my work.")], MaxTokens: 1)).Generation.PromptIds);
                // The short prompt stands in for the long one too: this run is about decode, not prefill.
                var report = await ChatPeerComparison.RunAsync(service, directory, config, dtype, prompt, prompt, settings, log);
                if (report.Skipped is null)
                    log.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"{dtype}: service {string.Join(", ", report.ServiceDecode!.Select(r => r.ToString("F2")))} tokens/s; llama.cpp {string.Join(", ", report.PeerDecode!.Select(r => r.ToString("F2")))}; ratio of medians {report.ServiceDecodeP50 / report.PeerDecodeP50:F2}"));
            }
            finally
            {
                try { Directory.Delete(directory, recursive: true); } catch (IOException) { }
            }
        }
    }

    /// <summary>
    /// The int8 model's logits against the float32 model's over greedy decode steps (the float32 model picks every
    /// token, both read the same ones): largest absolute difference, the largest logit, and top-1 agreement.
    /// </summary>
    static void Int8LogitError(string directory, int steps, TextWriter log)
    {
        using var mode = torch.inference_mode();
        var checkpoint = Inference.Checkpoints.CheckpointDirectory.Open(directory);
        using var exact = (Inference.Models.Llama.LlamaForCausalLM)Inference.Models.CausalLanguageModelLoader.Load(checkpoint, torch.CPU, ScalarType.Float32);
        using var quantised = (Inference.Models.Llama.LlamaForCausalLM)Inference.Models.CausalLanguageModelLoader.Load(checkpoint, torch.CPU, ScalarType.Float32);
        quantised.QuantizeWeights();
        using var exactCache = exact.NewCache(steps + 16);
        using var quantisedCache = quantised.NewCache(steps + 16);
        var next = torch.tensor(new long[] { 9, 8, 7, 6, 5, 4, 3, 2 }).unsqueeze(0);
        double maxError = 0, largest = 0;
        int agree = 0;
        for (int step = 0; step < steps; step++)
        {
            using var scope = torch.NewDisposeScope();
            var want = exact.Logits(exact.Forward(next, exactCache)[0, -1]);
            var got = quantised.Logits(quantised.Forward(next, quantisedCache)[0, -1]);
            maxError = Math.Max(maxError, (got - want).abs().max().item<float>());
            largest = Math.Max(largest, want.abs().max().item<float>());
            long top = want.argmax().item<long>();
            if (top == got.argmax().item<long>()) agree++;
            next = torch.tensor(new[] { top }).unsqueeze(0).DetachFromDisposeScope();
        }
        log.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"int8 against float32 over {steps} greedy decode steps: max |logit difference| {maxError:G3} (logits up to {largest:G3}), top-1 agreement {agree}/{steps}"));
    }

    /// <summary>
    /// Weight bytes per second of one-row products: libtorch on the layout it reads fastest (float32 column-major, half
    /// precision row-major: see KernelLayout), the kernel on the row-major one; float32, and each half-precision dtype run.
    /// </summary>
    static void MatVecComparison(IEnumerable<string> dtypes, TextWriter log)
    {
        using var mode = torch.inference_mode();
        foreach (var dtype in dtypes.Where(d => d is "bfloat16" or "float16").Prepend("float32").Distinct())
        foreach (var (inFeatures, outFeatures) in new[] { (896, 4864), (4864, 896), (896, 151936) })
        {
            using var scope = torch.NewDisposeScope();
            var type = Inference.Runtime.TorchRuntime.ResolveDType(dtype);
            var rowMajor = torch.randn(outFeatures, inFeatures).to(type);
            var torchLayout = type == ScalarType.Float32 ? rowMajor.t().contiguous().t() : rowMajor;
            var x = torch.randn(1, inFeatures).to(type);
            double bytes = (double)rowMajor.element_size() * inFeatures * outFeatures;
            var (torchRates, kernelRates) = (new List<double>(), new List<double>());
            for (int round = 0; round < 21; round++)
            {
                torchRates.Add(Rate(() => nn.functional.linear(x, torchLayout).Dispose()));
                kernelRates.Add(Rate(() => DecodeProjection.Linear(rowMajor, x).Dispose()));
            }
            double Rate(Action product)
            {
                product();
                int n = Math.Max(3, (int)(2e9 / bytes));
                long start = Stopwatch.GetTimestamp();
                for (int i = 0; i < n; i++) product();
                return n * bytes / Stopwatch.GetElapsedTime(start).TotalSeconds / 1e9;
            }
            log.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"matvec [{inFeatures} -> {outFeatures}] {dtype}: libtorch {Measure.Median(torchRates):F1} GB/s, decode kernel ({CoreTeam.Shared.Threads} threads) {Measure.Median(kernelRates):F1} GB/s, median ratio {Measure.Median(kernelRates.Zip(torchRates, (k, t) => k / t).ToList()):F2}"));
        }
    }
}
