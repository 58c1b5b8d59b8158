using System.Diagnostics;
using System.Diagnostics.Metrics;
using Prometheus;
using Service.Inference.Generation;

namespace Service.Api.Infrastructure;

/// <summary>
/// Every metric the service exports at <c>/metrics</c>, in one static class (documented in the README,
/// "Operations"). Names follow vLLM and TGI (<c>..._seconds</c> histograms, <c>..._total</c> counters).
/// Labels only ever hold values from a fixed set: route TEMPLATES (never the path), methods, status
/// codes and task names. No request text, language code from a path, model name from a request or key
/// goes into a label.
///
/// Why prometheus-net and not a hand-written exporter: histograms with cumulative buckets, label
/// escaping, thread-safe updates and content negotiation (text and OpenMetrics) are exactly what it is
/// tested for, it is served by the package mirror, and it has no dependencies. We use its core package
/// only, with our own registry (no default process or event-counter metrics whose names we do not
/// document) and our own endpoint (so the queue gauges are read from this app's host at scrape time).
/// </summary>
public static class ServiceMetrics
{
    /// <summary>The registry behind <c>/metrics</c>; static, so counters persist for the process (several test hosts share it).</summary>
    public static readonly CollectorRegistry Registry = Prometheus.Metrics.NewCustomRegistry();
    static readonly MetricFactory Factory = Prometheus.Metrics.WithCustomRegistry(Registry);

    /// <summary>Task names used as the <c>task</c> label.</summary>
    public static class Tasks
    {
        public const string FillMask = "fill-mask";
        public const string LanguageVectors = "language-vectors";
        public const string Probes = "probes";
        public const string Chat = "chat";
    }

    static readonly double[] LatencyBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
    static readonly double[] TokenLatencyBuckets = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 1, 2.5, 5];

    // ---- HTTP (fed by the request middleware in MetricsEndpoint) ----

    public static readonly Counter HttpRequests = Factory.CreateCounter("http_requests_total",
        "HTTP requests answered, by route template, method and status code.",
        new CounterConfiguration { LabelNames = ["route", "method", "status"] });

    public static readonly Histogram HttpRequestDuration = Factory.CreateHistogram("http_request_duration_seconds",
        "Time from the request reaching the service to the response being complete, by route template and method.",
        new HistogramConfiguration { LabelNames = ["route", "method"], Buckets = LatencyBuckets });

    // ---- Model host (read at scrape time) and batching ----

    public static readonly Gauge QueueSize = Factory.CreateGauge("inference_queue_size",
        "Jobs waiting in the model host's queue (Host:QueueCapacity bounds it; beyond that, 429).");

    public static readonly Gauge FillMaskWaiting = Factory.CreateGauge("inference_fill_mask_waiting",
        "Fill-mask queries waiting to be batched (FillMask:Batching:MaxWaiting bounds it; beyond that, 429).");

    public static readonly Histogram FillMaskBatchSize = Factory.CreateHistogram("inference_fill_mask_batch_size",
        "Queries in each fill-mask forward pass.",
        new HistogramConfiguration { Buckets = [1, 2, 4, 8, 16, 32, 64, 128, 256] });

    // vLLM's names: num_requests_waiting / num_requests_running / kv cache usage.
    public static readonly Gauge ChatWaiting = Factory.CreateGauge("inference_chat_requests_waiting",
        "Chat requests waiting to join the decode batch (Chat:Batching:MaxWaiting bounds it; beyond that, 429).");

    public static readonly Gauge ChatRunning = Factory.CreateGauge("inference_chat_requests_running",
        "Chat requests in the running batch (Chat:Batching:MaxBatchSize bounds it).");

    public static readonly Gauge KvCacheUsage = Factory.CreateGauge("inference_kv_cache_usage_ratio",
        "Share of the KV cache budget (Chat:Batching:KvCacheBudgetMB) reserved by running chat requests, 0 to 1.");

    public static readonly Histogram ChatBatchSize = Factory.CreateHistogram("inference_chat_batch_size",
        "Sequences in each chat decode step.",
        new HistogramConfiguration { Buckets = [1, 2, 4, 8, 16, 32, 64] });

    // ---- Requests served by a model (vLLM's e2e latency and token counters) ----

    public static readonly Histogram EndToEndLatency = Factory.CreateHistogram("inference_e2e_request_latency_seconds",
        "Time from the request reaching its handler to the model's answer being ready, for successful requests, by task.",
        new HistogramConfiguration { LabelNames = ["task"], Buckets = LatencyBuckets });

    public static readonly Counter PromptTokens = Factory.CreateCounter("inference_prompt_tokens_total",
        "Prompt (input) tokens processed, by task.", new CounterConfiguration { LabelNames = ["task"] });

    public static readonly Counter GenerationTokens = Factory.CreateCounter("inference_generation_tokens_total",
        "Generated (output) tokens, by task.", new CounterConfiguration { LabelNames = ["task"] });

    public static readonly Histogram TimeToFirstToken = Factory.CreateHistogram("inference_time_to_first_token_seconds",
        "Time from the request reaching its handler to the first generated token, by task.",
        new HistogramConfiguration { LabelNames = ["task"], Buckets = TokenLatencyBuckets });

    public static readonly Histogram InterTokenLatency = Factory.CreateHistogram("inference_inter_token_latency_seconds",
        "Time between consecutive generated tokens of one request, by task.",
        new HistogramConfiguration { LabelNames = ["task"], Buckets = TokenLatencyBuckets });

    // ---- Generations, counted inside Inference on a System.Diagnostics.Metrics meter (Inference knows no Prometheus) ----

    public static readonly Counter Generations = Factory.CreateCounter("inference_generations_total",
        "Finished generations by finish reason (stop, length, cancelled: a client that left).", new CounterConfiguration { LabelNames = ["finish_reason"] });

    public static readonly Counter GenerationTokensByFinish = Factory.CreateCounter("inference_generation_tokens_by_finish_reason_total",
        "Generated tokens by the finish reason of their generation; the cancelled share is work done for departed clients.",
        new CounterConfiguration { LabelNames = ["finish_reason"] });

    // vLLM's prefix_cache_queries / prefix_cache_hits, in tokens: hits / queries is the prefix cache's hit rate.
    public static readonly Counter PrefixCacheQueries = Factory.CreateCounter("inference_prefix_cache_queries_total",
        "Prompt tokens of chat requests looked up in the prefix cache (Chat:Batching:PrefixCaching).");

    public static readonly Counter PrefixCacheHits = Factory.CreateCounter("inference_prefix_cache_hits_total",
        "Prompt tokens of chat requests found in the prefix cache, whose keys and values were reused instead of computed.");

    static readonly Lazy<MeterListener> GenerationListener = new(ListenToGenerations);

    /// <summary>Feeds <see cref="Generations"/>, <see cref="GenerationTokensByFinish"/> and the prefix-cache counters from <see cref="GenerationMetrics"/>, once per process.</summary>
    public static void ExportGenerationMetrics() => _ = GenerationListener.Value;

    // prometheus-net's MeterAdapter would do this too, but as gauges named after the meter
    // (service_inference_generation_service_generation_tokens); two counters keep this page's names.
    static MeterListener ListenToGenerations()
    {
        var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == GenerationMetrics.MeterName) l.EnableMeasurementEvents(instrument);
            },
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            if (instrument.Name is GenerationMetrics.PrefixCacheQueries or GenerationMetrics.PrefixCacheHits)
            {
                (instrument.Name == GenerationMetrics.PrefixCacheQueries ? PrefixCacheQueries : PrefixCacheHits).Inc(value);
                return;
            }
            string reason = "";
            foreach (var tag in tags)
                if (tag.Key == "finish_reason") reason = tag.Value as string ?? "";
            var counter = instrument.Name == "service.generation.requests" ? Generations : GenerationTokensByFinish;
            counter.WithLabels(reason).Inc(value);
        });
        listener.Start();
        return listener;
    }

    /// <summary>Records a successful model request that started at <paramref name="startTimestamp"/> (<see cref="Stopwatch.GetTimestamp"/>).</summary>
    public static void RequestCompleted(string task, long startTimestamp, int promptTokens = 0, int generatedTokens = 0)
    {
        EndToEndLatency.WithLabels(task).Observe(Stopwatch.GetElapsedTime(startTimestamp).TotalSeconds);
        if (promptTokens > 0) PromptTokens.WithLabels(task).Inc(promptTokens);
        if (generatedTokens > 0) GenerationTokens.WithLabels(task).Inc(generatedTokens);
    }

    /// <summary>For streaming generation: the first token of a request that started at <paramref name="startTimestamp"/>.</summary>
    public static void FirstToken(string task, long startTimestamp) =>
        TimeToFirstToken.WithLabels(task).Observe(Stopwatch.GetElapsedTime(startTimestamp).TotalSeconds);

    /// <summary>For streaming generation: a token after the first, <paramref name="sincePrevious"/> after the one before it.</summary>
    public static void NextToken(string task, TimeSpan sincePrevious) =>
        InterTokenLatency.WithLabels(task).Observe(sincePrevious.TotalSeconds);
}
