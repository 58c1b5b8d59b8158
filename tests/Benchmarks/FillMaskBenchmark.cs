using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using Service.Inference.FillMask;
using Service.Inference.Hosting;
using Service.Inference.Models;
using Service.Inference.Models.Bert;
using Service.Inference.Models.Onnx;
using Service.Inference.Projection;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Service.Benchmarks;

public sealed record LatencyFigures(double P50Ms, double P95Ms, int Samples);

public sealed record ThroughputPoint(int Clients, int Requests, double Seconds, double PerSecond, double GflopsPerSecond,
    double P50Ms, double P95Ms, double MeanBatch);

/// <summary>One timed stage of a batch-1 fill-mask forward pass, with its own roofline bound.</summary>
public sealed record StageTime(string Stage, double Ms, double Flops, double Bytes, double BoundMs);

public sealed record FillMaskReport(
    BertConfig Config, int QueryTokens, long WeightBytes, long CheckpointBytes, double FlopsPerQuery, double BytesPerQuery,
    double LoadSeconds,
    LatencyFigures EngineEnglish, LatencyFigures EngineProjectionOff, LatencyFigures EngineProjectionOn,
    LatencyFigures HttpEnglish, LatencyFigures HttpProjectionOff, LatencyFigures HttpProjectionOn,
    IReadOnlyList<ThroughputPoint> Throughput, IReadOnlyList<StageTime> Profile,
    long PeakResidentBytes, bool PeakWasReset, long ResidentBeforeLoadBytes, LeakCheck Leak, Peers.FillMaskPeerReport Peer, string Runtime, Int8FillMaskReport Int8)
{
    /// <summary>max(FLOPs / GEMM rate, weight bytes / read bandwidth): a query reads its weights, it does not copy them.</summary>
    public double RooflineMs(MachineLimits m) => Math.Max(FlopsPerQuery / m.GemmFlopsPerSecond, BytesPerQuery / m.ReadBytesPerSecond) * 1000;
}

/// <summary>
/// Fill-mask at a BERT shape with random weights, written as a real checkpoint and served by the
/// real service: in-process (the engine on the host's thread) and HTTP latency, LRP2 on and off,
/// throughput at several concurrent HTTP clients, and a stage profile of the batch-1 pass.
/// </summary>
public static class FillMaskBenchmark
{
    // 16 tokens each with [CLS] and [SEP]; the generated vocabulary holds every word whole.
    public const string EnglishQuery = "The capital of France is [MASK] , a large city in western Europe .";
    public const string FrenchQuery = "La capitale de la France est [MASK] , une grande ville en Europe .";

    static readonly string[] EnglishSentences =
    [
        "Paris is the capital of France .", "The river is long and the city is old .", "Berlin is a large city in Germany .",
        "The language of Brazil is Portuguese .", "Rome is the capital of Italy .", "The mountains of Europe are high .",
    ];

    static readonly string[] FrenchSentences =
    [
        "Paris est la capitale de la France .", "Le fleuve est long et la ville est vieille .", "Berlin est une grande ville en Allemagne .",
        "La langue du Brésil est le portugais .", "Rome est la capitale de l ' Italie .", "Les montagnes de l ' Europe sont hautes .",
    ];

    public static async Task<FillMaskReport> RunAsync(BenchmarkSettings settings, MachineLimits machine, TextWriter log)
    {
        var config = settings.FillMaskConfig;
        var directory = Directory.CreateTempSubdirectory("bench-fill-mask-").FullName;
        try
        {
            var clock = Stopwatch.StartNew();
            long checkpointBytes = WriteCheckpoint(directory, config);
            log.WriteLine($"Fill-mask checkpoint ({checkpointBytes / 1e6:F0} MB) written in {clock.Elapsed.TotalSeconds:F1} s");

            ResidentMemory.ReleaseFreed();
            bool reset = ResidentMemory.ResetPeak();
            // No start-up warm-up of the bundled languages' vectors, so that nothing else holds the model thread
            // while latencies are taken; en and fr are PUT below.
            using var service = await ServiceUnderTest.StartAsync(new Dictionary<string, string?> { ["Models:FillMask:Path"] = directory, ["Projection:WarmUp"] = "false" });
            log.WriteLine($"Service ready in {service.LoadTime.TotalSeconds:F1} s at {service.BaseAddress}");
            var host = service.Host;

            var (weightBytes, bytesPerQuery) = await host.RunAsync(m => WeightBytes(TorchModule(m.FillMaskModel!.Model)));
            var runtime = await host.RunAsync(m => m.FillMaskModel!.Model is OnnxMaskedLanguageModel
                ? "ONNX Runtime, on a graph built from the service's own weights (`Inference:FillMaskRuntime=auto`)" : "TorchSharp");
            int tokens = await host.RunAsync(m => m.FillMask!.Prepare(new FillMaskQuery(EnglishQuery)).InputIds.Length);
            if (tokens != settings.QueryTokens)
                throw new InvalidOperationException($"The query is {tokens} tokens, not {settings.QueryTokens}.");
            double flops = EncoderFlops(config, tokens) + HeadFlops(config, masks: 1);

            // LRP2 vectors from a few sentences, through the API.
            foreach (var (language, sentences) in new[] { ("en", EnglishSentences), ("fr", FrenchSentences) })
            {
                var put = await service.Http.PutAsync($"/v1/language-vectors/{language}", Json(new { sentences }));
                if (!put.IsSuccessStatusCode) throw new InvalidOperationException($"PUT /v1/language-vectors/{language}: {(int)put.StatusCode} {await put.Content.ReadAsStringAsync()}");
            }

            int n = settings.LatencyIterations, warm = Math.Max(2, n / 10);
            var english = new FillMaskQuery(EnglishQuery);
            var frenchOff = new FillMaskQuery(FrenchQuery, Language: "fr", Projection: new ProjectionRequest(Enabled: false));
            var frenchOn = new FillMaskQuery(FrenchQuery, Language: "fr", Projection: new ProjectionRequest(Enabled: true));
            var engineEnglish = await EngineLatency(host, english, warm, n);
            var engineOff = await EngineLatency(host, frenchOff, warm, n);
            var engineOn = await EngineLatency(host, frenchOn, warm, n);
            log.WriteLine($"In process: p50 {engineEnglish.P50Ms:F2} ms (en), LRP2 off {engineOff.P50Ms:F2} ms, on {engineOn.P50Ms:F2} ms");

            var httpEnglish = await HttpLatency(service.Http, new { text = EnglishQuery, top_k = 5 }, warm, n);
            var httpOff = await HttpLatency(service.Http, new { text = FrenchQuery, top_k = 5, language = "fr", projection = new { enabled = false } }, warm, n);
            var httpOn = await HttpLatency(service.Http, new { text = FrenchQuery, top_k = 5, language = "fr", projection = new { enabled = true } }, warm, n);
            log.WriteLine($"HTTP: p50 {httpEnglish.P50Ms:F2} ms (en), LRP2 off {httpOff.P50Ms:F2} ms, on {httpOn.P50Ms:F2} ms");

            var profile = await host.RunAsync(m => Profile(m, config, tokens, machine, warm, n));

            var batcher = service.Services.GetRequiredService<FillMaskBatcher>();
            var throughput = new List<ThroughputPoint>();
            foreach (int clients in settings.FillMaskConcurrency)
            {
                var point = await Throughput(service.Http, batcher, clients, settings.ThroughputDuration, flops);
                throughput.Add(point);
                log.WriteLine($"{clients,2} clients: {point.PerSecond:F1} requests/s, {point.GflopsPerSecond:F1} GFLOP/s, p50 {point.P50Ms:F1} ms, mean batch {point.MeanBatch:F1}");
            }

            var leakBody = JsonSerializer.SerializeToUtf8Bytes(new { text = EnglishQuery, top_k = 5 });
            var leak = await LeakCheck.RunAsync(() => Post(service.Http, leakBody), settings.LeakCheckClients, settings.LeakCheckRequests,
                settings.LeakCheckSampleEvery, warmUp: settings.LeakCheckRequests / 10);
            log.WriteLine($"Leak check: RSS {leak.ResidentGrowth / 1e6:+0.0;-0.0} MB from request {leak.From.Requests} to {leak.To.Requests}, live tensors {leak.TensorGrowth:+0;-0}");
            long peak = ResidentMemory.PeakBytes(); // before the peer loads its own copy of the weights
            var peer = settings.Peers
                ? await Peers.FillMaskPeerComparison.RunAsync(service, directory, settings, [.. EnglishSentences, .. FrenchSentences], EnglishQuery, log)
                : new Peers.FillMaskPeerReport("quick mode runs no peers");
            var int8 = settings.Quick
                ? new Int8FillMaskReport("quick mode skips the int8 comparison")
                : await Int8FillMask.RunAsync(service, directory, settings, [.. EnglishSentences, .. FrenchSentences], EnglishQuery, log);
            return new FillMaskReport(config, tokens, weightBytes, checkpointBytes, flops, bytesPerQuery, service.LoadTime.TotalSeconds,
                engineEnglish, engineOff, engineOn, httpEnglish, httpOff, httpOn, throughput, profile,
                peak, reset, host.ResidentBytesBeforeLoad, leak, peer, runtime, int8);
        }
        finally
        {
            try { Directory.Delete(directory, recursive: true); } catch (IOException) { }
        }
    }

    /// <summary>Matrix FLOPs of the encoder (projections, feed-forward, attention scores and mixing) for one sequence.</summary>
    public static double EncoderFlops(BertConfig c, int tokens)
    {
        double h = c.HiddenSize, i = c.IntermediateSize, t = tokens;
        return c.NumHiddenLayers * (2 * t * (4 * h * h + 2 * h * i) + 4 * t * t * h);
    }

    /// <summary>The MLM head at the mask positions only: transform dense and the vocabulary projection.</summary>
    public static double HeadFlops(BertConfig c, int masks) =>
        masks * (2.0 * c.HiddenSize * c.HiddenSize + 2.0 * c.HiddenSize * c.VocabSize);

    /// <summary>All parameter bytes, and the bytes a batch-1 pass reads (all but the position and token-type tables, of which it reads a few rows).</summary>
    static (long All, double Read) WeightBytes(nn.Module model)
    {
        long all = 0, unread = 0;
        foreach (var (name, p) in model.named_parameters())
        {
            long bytes = p.numel() * p.element_size();
            all += bytes;
            if (name.Contains("position_embeddings") || name.Contains("token_type_embeddings")) unread += bytes;
        }
        return (all, all - unread);
    }

    static async Task<LatencyFigures> EngineLatency(ModelHost host, FillMaskQuery query, int warm, int n)
    {
        // Prepare (tokenize, plan LRP2) and Run (tensors) as a request does, timed on the host's thread.
        var samples = await host.RunAsync(m => Measure.Times(warm, n, () => m.FillMask!.Run([m.FillMask!.Prepare(query)])));
        return new LatencyFigures(Measure.Median(samples), Measure.Percentile(samples, 95), n);
    }

    static async Task<LatencyFigures> HttpLatency(HttpClient http, object body, int warm, int n)
    {
        var bytes = JsonSerializer.SerializeToUtf8Bytes(body);
        var samples = await Measure.TimesAsync(warm, n, () => Post(http, bytes));
        return new LatencyFigures(Measure.Median(samples), Measure.Percentile(samples, 95), n);
    }

    internal static async Task Post(HttpClient http, byte[] body)
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var response = await http.PostAsync("/v1/fill-mask", content);
        var text = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"POST /v1/fill-mask: {(int)response.StatusCode} {text}");
    }

    internal static async Task<ThroughputPoint> Throughput(HttpClient http, FillMaskBatcher batcher, int clients, TimeSpan duration, double flops)
    {
        var body = JsonSerializer.SerializeToUtf8Bytes(new { text = EnglishQuery, top_k = 5 });
        // Warm-up at this concurrency, then the timed window.
        var warmUntil = Stopwatch.GetTimestamp() + (long)(Stopwatch.Frequency * Math.Min(1.0, duration.TotalSeconds / 5));
        await Task.WhenAll(Enumerable.Range(0, clients).Select(async _ => { while (Stopwatch.GetTimestamp() < warmUntil) await Post(http, body); }));

        var latencies = new List<double>[clients];
        var batches = new List<int>[clients];
        long start = Stopwatch.GetTimestamp();
        long until = start + (long)(Stopwatch.Frequency * duration.TotalSeconds);
        await Task.WhenAll(Enumerable.Range(0, clients).Select(async c =>
        {
            latencies[c] = [];
            batches[c] = [];
            while (Stopwatch.GetTimestamp() < until)
            {
                long t0 = Stopwatch.GetTimestamp();
                await Post(http, body);
                latencies[c].Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
                batches[c].Add(batcher.LastBatchSize);
            }
        }));
        double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        var all = latencies.SelectMany(l => l).ToArray();
        double rate = all.Length / seconds;
        return new ThroughputPoint(clients, all.Length, seconds, rate, rate * flops / 1e9,
            Measure.Median(all), Measure.Percentile(all, 95), batches.SelectMany(b => b).DefaultIfEmpty(0).Average());
    }

    /// <summary>
    /// Batch-1 stages with the loaded model's own weights (layer 0 stands for every layer), each
    /// timed alone, next to the whole encoder and head as the engine calls them. Host thread only.
    /// </summary>
    static List<StageTime> Profile(LoadedModels models, BertConfig c, int t, MachineLimits machine, int warm, int n)
    {
        using var scope = torch.NewDisposeScope();
        using var mode = torch.inference_mode();
        var module = TorchModule(models.FillMaskModel!.Model);
        var model = models.FillMaskModel!.Model;
        var p = module.named_parameters().ToDictionary(x => x.name, x => x.parameter);
        string prefix = c.IsRoberta ? "roberta" : "bert";
        Tensor W(string name) => p[$"{prefix}.encoder.layer.0.{name}"];
        int h = c.HiddenSize, i = c.IntermediateSize, heads = c.NumAttentionHeads, L = c.NumHiddenLayers;
        var x = torch.randn(1, t, h);
        var inter = torch.randn(1, t, i);
        var q = torch.randn(1, heads, t, h / heads);
        var row = torch.randn(1, h);
        var logits = torch.randn(1, c.VocabSize);
        var ids = torch.randint(c.VocabSize, [1, t], dtype: ScalarType.Int64);
        var mask = torch.ones(1, t, dtype: ScalarType.Int64);
        var words = p[c.IsRoberta ? "roberta.embeddings.word_embeddings.weight" : "bert.embeddings.word_embeddings.weight"];
        var headBias = p[c.IsRoberta ? "lm_head.bias" : "cls.predictions.bias"];

        var stages = new List<StageTime>();
        void Stage(string name, double flops, double bytes, int repeat, Action action)
        {
            var ms = Measure.Median(Measure.Times(warm, n, () => { using var s = torch.NewDisposeScope(); action(); })) * repeat;
            stages.Add(new StageTime(name, ms, flops * repeat, bytes * repeat,
                Math.Max(flops * repeat / machine.GemmFlopsPerSecond, bytes * repeat / machine.ReadBytesPerSecond) * 1000));
        }
        double f = sizeof(float);
        Stage($"Q, K, V projections (x{L} layers)", 3 * 2.0 * t * h * h, 3 * f * h * h, L, () =>
        {
            F.linear(x, W("attention.self.query.weight"), W("attention.self.query.bias"));
            F.linear(x, W("attention.self.key.weight"), W("attention.self.key.bias"));
            F.linear(x, W("attention.self.value.weight"), W("attention.self.value.bias"));
        });
        Stage($"attention core, SDPA (x{L})", 4.0 * t * t * h, 0, L, () => F.scaled_dot_product_attention(q, q, q));
        Stage($"attention output dense + LayerNorm (x{L})", 2.0 * t * h * h, f * h * h, L, () =>
            F.layer_norm(F.linear(x, W("attention.output.dense.weight"), W("attention.output.dense.bias")) + x, [h],
                W("attention.output.LayerNorm.weight"), W("attention.output.LayerNorm.bias")));
        Stage($"feed-forward up + GELU (x{L})", 2.0 * t * h * i, f * h * i, L, () =>
            F.gelu(F.linear(x, W("intermediate.dense.weight"), W("intermediate.dense.bias"))));
        Stage($"feed-forward down + LayerNorm (x{L})", 2.0 * t * h * i, f * h * i, L, () =>
            F.layer_norm(F.linear(inter, W("output.dense.weight"), W("output.dense.bias")) + x, [h], W("output.LayerNorm.weight"), W("output.LayerNorm.bias")));
        Stage("MLM head: vocabulary projection (1 mask)", 2.0 * h * c.VocabSize, f * h * c.VocabSize, 1, () => F.linear(row, words, headBias));
        Stage("softmax + top-5 over the vocabulary", 0, 0, 1, () => logits.softmax(-1).topk(5));
        Stage("whole encoder, as the engine calls it", EncoderFlops(c, t), f * L * (4.0 * h * h + 2.0 * h * i), 1, () => model.Encode(ids, mask));
        Stage("whole MLM head at 1 mask, as the engine calls it", HeadFlops(c, 1), f * (h * h + (double)h * c.VocabSize), 1, () => model.PredictTokens(row));
        var runtime = model is OnnxMaskedLanguageModel ? "ONNX Runtime" : "TorchSharp";
        Stage($"encoder + head at 1 mask, as fill-mask calls it ({runtime})", EncoderFlops(c, t) + HeadFlops(c, 1),
            f * (L * (4.0 * h * h + 2.0 * h * i) + h * h + (double)h * c.VocabSize), 1, () => model.PredictAt(ids, mask, [t / 2], null));
        return stages;
    }

    /// <summary>A sentence with its words (and punctuation marks) masked one at a time: the first, then every <paramref name="every"/>th.</summary>
    public static IEnumerable<string> MaskWords(string sentence, int every)
    {
        var words = Regex.Matches(sentence, @"\w+|[^\w\s]").Select(m => m.Value).ToArray();
        for (int i = 0; i < words.Length; i += every)
            yield return string.Join(' ', words.Select((w, k) => k == i ? "[MASK]" : w));
    }

    /// <summary>The TorchSharp module behind the served model (ONNX Runtime's graph runs over its weights).</summary>
    static nn.Module TorchModule(IMaskedLanguageModel model) => model is OnnxMaskedLanguageModel onnx ? onnx.Torch : (nn.Module)model;

    static StringContent Json(object value) => new(JsonSerializer.Serialize(value), Encoding.UTF8, "application/json");

    public static long WriteCheckpoint(string directory, BertConfig config)
    {
        using (var meta = new BertForMaskedLM(config, torch.device("meta"), ScalarType.Float32))
        {
            var tensors = RandomCheckpoint.StateDictOf(meta);
            long bytes = RandomCheckpoint.WriteSafeTensors(Path.Combine(directory, "model.safetensors"), tensors);
            RandomCheckpoint.WriteJson(Path.Combine(directory, "config.json"), config);
            RandomCheckpoint.WriteJson(Path.Combine(directory, "tokenizer_config.json"), new Dictionary<string, object>
            {
                ["tokenizer_class"] = "BertTokenizer", ["do_lower_case"] = false, ["model_max_length"] = config.MaxPositionEmbeddings,
            });
            File.WriteAllLines(Path.Combine(directory, "vocab.txt"), Vocabulary(config.VocabSize));
            return bytes;
        }
    }

    /// <summary>BERT's special-token layout ([PAD] 0, [UNK] 100, [CLS] 101, [SEP] 102, [MASK] 103), every benchmark word, then filler tokens.</summary>
    static IEnumerable<string> Vocabulary(int size)
    {
        var words = EnglishSentences.Concat(FrenchSentences).Append(EnglishQuery).Append(FrenchQuery)
            .SelectMany(s => Regex.Matches(s, @"\[MASK\]|\w+|[^\w\s]").Select(m => m.Value))
            .Where(w => w != "[MASK]").Distinct(StringComparer.Ordinal);
        var tokens = new List<string> { "[PAD]" };
        tokens.AddRange(Enumerable.Range(1, 99).Select(k => $"[unused{k}]"));
        tokens.AddRange(["[UNK]", "[CLS]", "[SEP]", "[MASK]"]);
        tokens.AddRange(words);
        for (int k = 0; tokens.Count < size; k++) tokens.Add(k % 2 == 0 ? $"w{k}" : $"##p{k}");
        if (tokens.Count > size) throw new InvalidOperationException($"vocab_size {size} cannot hold the {tokens.Count} benchmark tokens.");
        return tokens;
    }
}
