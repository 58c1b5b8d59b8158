using Service.Inference.Generation;
using Service.Inference.Models.Decode;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Service.Inference.Models.Llama;

/// <summary>
/// LlamaForCausalLM and Qwen2ForCausalLM (`model.*`, `lm_head.weight`): one decoder, the differences
/// (q/k/v biases, tied head, rope scaling) read from the config. The module holds weights only;
/// everything a request accumulates lives in its <see cref="KvCache"/>.
/// </summary>
public sealed class LlamaForCausalLM : nn.Module, ICausalLanguageModel, IKernelLayout, IInt8Weights
{
    readonly LlamaModel model;
    readonly Linear? lm_head; // null when tied to the input embeddings

    readonly ScalarType _dtype; // of the weights and the KV cache (float32 when the matrices are int8); activations: LlamaModel.ActivationType

    public LlamaConfig Config { get; }
    public Device Device { get; }

    public LlamaForCausalLM(LlamaConfig config, Device device, ScalarType dtype) : base(nameof(LlamaForCausalLM))
    {
        Config = config;
        Device = device;
        _dtype = dtype;
        model = new LlamaModel(config, device, dtype);
        lm_head = config.TieWordEmbeddings ? null : nn.Linear(config.HiddenSize, config.VocabSize, hasBias: false, device: device, dtype: dtype);
        RegisterComponents();
    }

    public int LayerCount => Config.NumHiddenLayers;
    public int VocabSize => Config.VocabSize;
    public int MaxSequenceLength => Config.MaxPositionEmbeddings;

    public KvCache NewCache(int capacity) => new(Config.NumHiddenLayers, capacity);

    public long KvBytesPerPosition => Config.KvBytesPerPosition(_dtype.ElementSize());

    /// <summary>Final hidden states [B, T, H] of new tokens [B, T]; positions continue from the cache.</summary>
    public Tensor Forward(Tensor inputIds, KvCache cache, HiddenStateIntervention? intervention = null) =>
        model.forward(inputIds, [cache], intervention);

    /// <summary>
    /// One new token per sequence [B, 1], each continuing its own cache: the weights are read once for all B.
    /// A float32, bfloat16, float16 or int8 model on an AVX2 CPU takes the written-out step (<see cref="LlamaDecodeStep"/>)
    /// for up to <see cref="DecodeProjection.MaxRows"/> sequences, which returns float32 hidden states; everything else the modules.
    /// </summary>
    public Tensor DecodeBatch(Tensor inputIds, IReadOnlyList<KvCache> caches) =>
        WrittenOutStep && caches.Count <= DecodeProjection.MaxRows && inputIds.device_type == DeviceType.CPU && DecodeStep is { } step
            ? step.Run(inputIds, caches)
            : model.forward(inputIds, caches, null);

    /// <summary>False sends decode steps through the modules too (benchmark A/B, tests).</summary>
    public bool WrittenOutStep { get; set; } = true;

    /// <summary>True when decode steps take the written-out step (on an AVX2 CPU).</summary>
    public bool DecodesWrittenOut => WrittenOutStep && DecodeStep is not null;

    // Built at the first decode step, after loading, kernel layout and quantisation have settled the weights.
    LlamaDecodeStep? DecodeStep
    {
        get
        {
            if (!_decodeStepChecked) (_decodeStep, _decodeStepChecked) = (LlamaDecodeStep.TryCreate(this, _dtype), true);
            return _decodeStep;
        }
    }
    LlamaDecodeStep? _decodeStep;
    bool _decodeStepChecked;

    /// <summary>Vocabulary logits [..., V] for hidden states [..., H]: the head runs only where it is needed.</summary>
    public Tensor Logits(Tensor hidden) => lm_head is null ? DecodeProjection.Linear(model.Embeddings, hidden) : DecodeProjection.Linear(lm_head, hidden);

    /// <summary>
    /// A decode step is all matrix-vector products. Where <see cref="DecodeProjection"/>'s kernel runs
    /// (float32, bfloat16 or float16 on an AVX2 CPU) it reads the checkpoint's row-major layout, so nothing changes; otherwise
    /// every projection and the embedding matrix (the tied head) go column-major for libtorch's
    /// float32 matrix-vector product (see <see cref="KernelLayout"/>).
    /// </summary>
    public void PrepareKernelLayout()
    {
        if (DecodeProjection.Applies(model.EmbeddingWeight)) return;
        foreach (var (_, module) in named_modules())
        {
            if (module is Linear linear) KernelLayout.ColumnMajor(linear);
            else if (module is Embedding embedding) KernelLayout.ColumnMajor(embedding);
        }
    }

    /// <summary>
    /// Every matrix to int8 (see <see cref="Int8Weights"/>): the projections, the head and the embedding
    /// matrix (which a tied head shares), on a float32 CPU model; norms and biases stay float32.
    /// </summary>
    public void QuantizeWeights()
    {
        if (Device.type != DeviceType.CPU || _dtype != ScalarType.Float32)
            throw new ArgumentException($"Models:Chat:Weights=int8 needs a float32 model on the CPU (this one is {_dtype} on {Device.type}); set Models:Chat:DType=float32 and Inference:Device=cpu.");
        using var noGrad = torch.no_grad();
        foreach (var (_, module) in named_modules().ToList())
        {
            if (module is Linear linear) Int8Weights.Quantize(linear);
            else if (module is Embedding embedding) Int8Weights.Quantize(embedding);
        }
    }

    /// <summary>
    /// Checkpoint key to state-dict key: names are identical; a tied checkpoint that still stores
    /// `lm_head.weight` (a copy of the embeddings) has it skipped.
    /// </summary>
    public string? ModuleKey(string checkpointKey) =>
        lm_head is null && checkpointKey == "lm_head.weight" ? null : checkpointKey;
}
