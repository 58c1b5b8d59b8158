using Service.Inference.Models.Bert;
using Service.Inference.Models.Llama;

namespace Service.Benchmarks;

/// <summary>Shapes and iteration counts: the full run (issue 5's shapes) or the quick smoke run (tiny shapes, seconds).</summary>
public sealed record BenchmarkSettings
{
    public required bool Quick { get; init; }
    /// <summary>Run the peers (ONNX Runtime, llama.cpp) beside the service: the full run does, quick mode not unless `--peers`.</summary>
    public bool Peers { get; init; }
    public required int GemmSize { get; init; }
    public required long CopyBytes { get; init; }
    public required int MatVecSize { get; init; }
    public required int MachineIterations { get; init; }

    public required BertConfig FillMaskConfig { get; init; }
    /// <summary>Tokens per fill-mask query, [CLS] and [SEP] included.</summary>
    public required int QueryTokens { get; init; }
    public required int LatencyIterations { get; init; }
    public required int[] FillMaskConcurrency { get; init; }
    public required TimeSpan ThroughputDuration { get; init; }
    /// <summary>Leak check: requests at <see cref="LeakCheckClients"/> concurrent clients, memory sampled every <see cref="LeakCheckSampleEvery"/>.</summary>
    public required int LeakCheckRequests { get; init; }
    public int LeakCheckClients { get; init; } = 4;
    public required int LeakCheckSampleEvery { get; init; }

    public required LlamaConfig ChatConfig { get; init; }
    /// <summary>Prompt length for prefill and time to first token (the service's prompt budget is set to it).</summary>
    public required int ChatPromptTokens { get; init; }
    public required int ChatPrefillIterations { get; init; }
    /// <summary>Tokens of the batch-1 decode run and of the single HTTP stream.</summary>
    public required int ChatDecodeTokens { get; init; }
    /// <summary>Tokens per stream in the concurrency runs.</summary>
    public required int ChatStreamTokens { get; init; }
    public required int[] ChatConcurrency { get; init; }
    /// <summary>The reply budget (Chat:MaxTokens default) that sizes a request's KV cache.</summary>
    public int ChatMaxTokens { get; init; } = 512;
    /// <summary>The chat phase runs once per dtype (Models:Chat:DType): float32, then bfloat16 (half the bytes per token).</summary>
    public string[] ChatDTypes { get; init; } = ["float32", "bfloat16"];

    public static BenchmarkSettings Full => new()
    {
        Quick = false,
        Peers = true,
        GemmSize = 2048,
        CopyBytes = 1L << 30,
        MatVecSize = 4096,
        MachineIterations = 10,
        FillMaskConfig = Bert(vocab: 119547, hidden: 768, layers: 12, heads: 12, intermediate: 3072, positions: 512),
        QueryTokens = 16,
        LatencyIterations = 60,
        FillMaskConcurrency = [1, 4, 16],
        ThroughputDuration = TimeSpan.FromSeconds(15),
        LeakCheckRequests = 1000,
        LeakCheckSampleEvery = 100,
        ChatConfig = ChatCheckpoint.Qwen2(vocab: 151936, hidden: 896, layers: 24, heads: 14, kvHeads: 2, intermediate: 4864, positions: 32768),
        ChatPromptTokens = 1536,
        ChatPrefillIterations = 3,
        ChatDecodeTokens = 64,
        ChatStreamTokens = 24,
        ChatConcurrency = [1, 4, 8],
    };

    public static BenchmarkSettings QuickRun => new()
    {
        Quick = true,
        GemmSize = 256,
        CopyBytes = 16L << 20,
        MatVecSize = 512,
        MachineIterations = 3,
        FillMaskConfig = Bert(vocab: 600, hidden: 64, layers: 2, heads: 4, intermediate: 128, positions: 64),
        QueryTokens = 16,
        LatencyIterations = 5,
        FillMaskConcurrency = [1, 4, 16],
        ThroughputDuration = TimeSpan.FromMilliseconds(400),
        LeakCheckRequests = 40,
        LeakCheckSampleEvery = 10,
        ChatConfig = ChatCheckpoint.Qwen2(vocab: 1200, hidden: 64, layers: 2, heads: 4, kvHeads: 2, intermediate: 128, positions: 1024),
        ChatPromptTokens = 512, // room for the prefix-cache conversation's ten turns in ChatML (each random reply re-tokenizes longer)
        ChatPrefillIterations = 2,
        ChatDecodeTokens = 8,
        ChatStreamTokens = 4,
        ChatConcurrency = [1, 4, 8],
    };

    static BertConfig Bert(int vocab, int hidden, int layers, int heads, int intermediate, int positions) => new()
    {
        ModelType = "bert", Architectures = ["BertForMaskedLM"], VocabSize = vocab, HiddenSize = hidden, NumHiddenLayers = layers,
        NumAttentionHeads = heads, IntermediateSize = intermediate, MaxPositionEmbeddings = positions, TypeVocabSize = 2, PadTokenId = 0,
    };
}
