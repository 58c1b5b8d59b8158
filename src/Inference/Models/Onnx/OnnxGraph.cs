using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using TensorElementType = Microsoft.ML.OnnxRuntime.Tensors.TensorElementType;
using Onnx;
using TorchSharp;
using static TorchSharp.torch;
using DataType = Onnx.TensorProto.Types.DataType;

namespace Service.Inference.Models.Onnx;

/// <summary>
/// Builds an ONNX graph from a TorchSharp model's tensors and compiles it into an ONNX Runtime
/// session that reads the weights from the tensors' own memory: each weight is declared as external
/// data in a sparse placeholder file (no disk blocks, never read) and handed to the session as an
/// OrtValue over the tensor (SessionOptions.AddInitializer). ONNX Runtime then holds only what it
/// packs for its kernels; serialized into the model instead, the weights would be held twice more
/// (measured at the mBERT shape: 2.0 GB RSS against 3.3 GB). Without a writable temporary directory
/// the weights do travel inside the model (at most <see cref="MaxWeightBytes"/>, protobuf's limit).
/// Nodes get generated output names; the graph is only ever built by code, never read.
/// </summary>
public sealed class OnnxGraph
{
    const string MicrosoftDomain = "com.microsoft";
    readonly GraphProto _graph = new() { Name = "service" };
    /// <summary>The most weight data one graph can carry (protobuf's 2 GB limit, less room for the graph).</summary>
    public const long MaxWeightBytes = int.MaxValue - (64 << 20);

    const string WeightsFile = "weights.bin";
    readonly Dictionary<string, bool> _transposed = [];
    readonly List<(TensorProto Proto, Tensor Tensor)> _shared = [];
    readonly List<Tensor> _owned = []; // tensors made here (quantised weights): they live as long as the session
    long _sharedBytes;
    int _next;

    /// <summary>A float32 or int64 graph input; dimension names are symbolic (batch, tokens) or numbers.</summary>
    public string Input(string name, DataType type, params object[] dims)
    {
        _graph.Input.Add(Info(name, type, dims));
        return name;
    }

    /// <summary>Declares a graph output: a node written with <c>output: name</c>.</summary>
    public void Output(string name, DataType type, params object[] dims) => _graph.Output.Add(Info(name, type, dims));

    /// <summary>One node; returns its (single) output's name.</summary>
    public string Node(string op, IEnumerable<string> inputs, Action<NodeProto>? attributes = null, bool microsoft = false, string? output = null)
    {
        var node = new NodeProto { OpType = op, Name = $"{op}_{_next}", Domain = microsoft ? MicrosoftDomain : "" };
        node.Input.AddRange(inputs);
        node.Output.Add(output ?? $"{op}_{_next}_out");
        _next++;
        attributes?.Invoke(node);
        _graph.Node.Add(node);
        return node.Output[0];
    }

    public static Action<NodeProto> Attribute(string name, long value) => n => n.Attribute.Add(new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value });
    public static Action<NodeProto> Attribute(string name, float value) => n => n.Attribute.Add(new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value });
    public static Action<NodeProto> Attribute(string name, params long[] values) => n =>
    {
        var attribute = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        attribute.Ints.AddRange(values);
        n.Attribute.Add(attribute);
    };

    /// <summary>A small constant stored in the graph itself (shapes, indices, scales).</summary>
    public string Constant(params long[] values) => Constant(DataType.Int64, values.SelectMany(BitConverter.GetBytes).ToArray(), [values.Length]);

    public string Constant(float value) => Constant(DataType.Float, BitConverter.GetBytes(value), []);

    /// <summary>A scalar int64 index (Gather with it drops the axis).</summary>
    public string Index(long value) => Constant(DataType.Int64, BitConverter.GetBytes(value), []);

    /// <summary>A constant of any type from its raw little-endian bytes.</summary>
    public string Constant(DataType type, byte[] data, long[] dims)
    {
        var tensor = new TensorProto { Name = $"const_{_next++}", DataType = (int)type, RawData = ByteString.CopyFrom(data) };
        tensor.Dims.AddRange(dims);
        _graph.Initializer.Add(tensor);
        return tensor.Name;
    }

    /// <summary>
    /// A float32 CPU tensor as a weight, once per name. A column-major tensor (a transposed view of
    /// contiguous memory, see <see cref="KernelLayout"/>) goes in as the contiguous [in, out] matrix
    /// it is stored as: Transposed says so. The tensor must live until <see cref="Compile"/>.
    /// </summary>
    public (string Name, bool Transposed) Weight(string name, Tensor tensor)
    {
        if (_transposed.TryGetValue(name, out var known)) return (name, known);
        if (tensor.dtype != ScalarType.Float32 || tensor.device_type != TorchSharp.DeviceType.CPU)
            throw new ArgumentException($"{name}: only float32 CPU tensors can be shared with ONNX Runtime.", nameof(tensor));
        bool transposed = !tensor.is_contiguous() && tensor.dim() == 2 && tensor.t().is_contiguous();
        var stored = transposed ? tensor.t() : tensor;
        if (!stored.is_contiguous()) throw new ArgumentException($"{name}: the tensor's memory is not contiguous.", nameof(tensor));
        _transposed[name] = transposed;
        return (Shared(name, stored), transposed);
    }

    /// <summary>A contiguous CPU tensor as an initializer handed over at <see cref="Compile"/> (declared here as external data).</summary>
    string Shared(string name, Tensor tensor)
    {
        long bytes = tensor.NumberOfElements * tensor.ElementSize;
        var proto = new TensorProto { Name = name, DataType = (int)(tensor.dtype == ScalarType.Int8 ? DataType.Int8 : DataType.Float), DataLocation = TensorProto.Types.DataLocation.External };
        proto.Dims.AddRange(tensor.shape);
        proto.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = WeightsFile });
        proto.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = $"{_sharedBytes}" });
        proto.ExternalData.Add(new StringStringEntryProto { Key = "length", Value = $"{bytes}" });
        _graph.Initializer.Add(proto);
        _shared.Add((proto, tensor));
        _sharedBytes += bytes;
        return name;
    }

    /// <summary>x [N, in] times a weight [out, in] (TorchSharp's Linear layout) plus an optional bias: [N, out].</summary>
    public string Linear(string x, string name, Tensor weight, string? bias = null)
    {
        var (w, transposed) = Weight(name, weight);
        return Node("Gemm", bias is null ? [x, w] : [x, w, bias], Attribute("transB", transposed ? 0L : 1L));
    }

    /// <summary>
    /// <see cref="Linear"/> in 8-bit integers: the weight quantised here, once, symmetric per output
    /// row to [-63, 63] (7 bits, so that AVX2's unsigned x signed byte pair sums cannot saturate, as
    /// ONNX Runtime's quantization guide warns), and each row of x quantised per call to uint8 around
    /// 128 with its own scale, so that a row's result never depends on the rest of the batch (ONNX
    /// Runtime's DynamicQuantizeMatMul takes one scale per tensor, which would couple the rows).
    /// </summary>
    public string QuantizedLinear(string x, Tensor weight, string? bias = null)
    {
        const int levels = 63;
        // One float temporary as large as the weight at a time (the vocabulary matrix is hundreds of MB).
        Tensor scale, q;
        using (var magnitudes = weight.abs())
        using (var largest = magnitudes.amax([1]))
            scale = (largest.clamp_min(1e-30) / levels).contiguous(); // [out]
        using (var scaled = weight.div(scale.unsqueeze(1)))
        {
            scaled.round_().clamp_(-levels, levels);
            using var narrow = scaled.to(ScalarType.Int8);
            q = narrow.t().contiguous(); // [in, out]
        }
        _owned.Add(scale);
        _owned.Add(q);
        var weights = Shared($"int8_{_next++}", q);
        var weightScale = Shared($"int8_scale_{_next++}", scale);
        var rowScale = Node("Div", [Node("Max", [Node("ReduceMax", [Node("Abs", [x])], Attribute("axes", [1L])), Constant(1e-30f)]), Constant(127f)]); // [N, 1]
        var rows = Node("Cast", [Node("Add", [Node("Round", [Node("Div", [x, rowScale])]), Constant(128f)])], Attribute("to", (long)DataType.Uint8));
        var products = Node("MatMulInteger", [rows, weights, Constant(DataType.Uint8, [128], [])]); // int32 [N, out]
        var y = Node("Mul", [Node("Mul", [Node("Cast", [products], Attribute("to", (long)DataType.Float)), rowScale]), weightScale]);
        return bias is null ? y : Node("Add", [y, bias]);
    }

    /// <summary>Rows of an embedding table [V, H] at int64 indices [N]: [N, H].</summary>
    public string Embedding(string name, Tensor table, string indices)
    {
        var (w, transposed) = Weight(name, table);
        return transposed
            ? Node("Transpose", [Node("Gather", [w, indices], Attribute("axis", 1L))], Attribute("perm", 1L, 0))
            : Node("Gather", [w, indices], Attribute("axis", 0L));
    }

    /// <summary>
    /// The session, and what it reads from: the OrtValues over the shared tensors and the tensors made
    /// here. On failure everything is released; on success the result owns it.
    /// </summary>
    /// <param name="temporaryRoot">Where the placeholder goes (the system's temporary directory when null).</param>
    public CompiledGraph Compile(SessionOptions options, string? temporaryRoot = null)
    {
        var model = new ModelProto { IrVersion = 8, ProducerName = "Service.Inference", Graph = _graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 17 });
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = MicrosoftDomain, Version = 1 });
        var values = new List<OrtValue>();
        try
        {
            var session = CompileShared(model, options, values, temporaryRoot) ?? CompileInMemory(model, options);
            return new CompiledGraph(session, values, _owned);
        }
        catch
        {
            foreach (var value in values) value.Dispose();
            foreach (var tensor in _owned) tensor.Dispose();
            throw;
        }
    }

    /// <summary>The model beside a sparse placeholder for its weights in a temporary directory; null when none can be written.</summary>
    InferenceSession? CompileShared(ModelProto model, SessionOptions options, List<OrtValue> values, string? temporaryRoot)
    {
        DirectoryInfo directory;
        try
        {
            directory = temporaryRoot is null ? Directory.CreateTempSubdirectory("service-onnx-")
                : Directory.CreateDirectory(Path.Combine(temporaryRoot, $"service-onnx-{Guid.NewGuid():N}"));
            using (var weights = File.Create(Path.Combine(directory.FullName, WeightsFile))) weights.SetLength(_sharedBytes); // sparse: no blocks
            using (var file = File.Create(Path.Combine(directory.FullName, "model.onnx"))) model.WriteTo(file);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
        try
        {
            foreach (var (proto, tensor) in _shared)
            {
                values.Add(Share(tensor));
                options.AddInitializer(proto.Name, values[^1]);
            }
            return new InferenceSession(Path.Combine(directory.FullName, "model.onnx"), options);
        }
        finally
        {
            try { directory.Delete(recursive: true); } catch (IOException) { } // ONNX Runtime has read what it needs
        }
    }

    /// <summary>No writable temporary directory: the weights go inside the model, which ONNX Runtime then copies.</summary>
    InferenceSession CompileInMemory(ModelProto model, SessionOptions options)
    {
        if (_sharedBytes > MaxWeightBytes)
            throw new InvalidOperationException($"no temporary directory could be written, and the weights ({_sharedBytes >> 20} MB) exceed the {MaxWeightBytes >> 20} MB an in-memory ONNX model can carry");
        foreach (var (proto, tensor) in _shared)
        {
            proto.DataLocation = TensorProto.Types.DataLocation.Default;
            proto.ExternalData.Clear();
            proto.RawData = UnsafeByteOperations.UnsafeWrap(new TensorMemory(tensor).Memory);
        }
        var session = new InferenceSession(model.ToByteArray(), options);
        // The serialized model, as large as the weights, is garbage now: hand it back before serving.
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        return session;
    }

    /// <summary>An OrtValue over a contiguous float32 or int8 CPU tensor's memory; the tensor must outlive it.</summary>
    public static unsafe OrtValue Share(Tensor tensor)
    {
        var bytes = tensor.bytes; // the tensor's own native memory: no pinning needed, no copy made
        var type = tensor.dtype == ScalarType.Int8 ? TensorElementType.Int8 : TensorElementType.Float;
        fixed (byte* data = bytes)
            return OrtValue.CreateTensorValueWithData(OrtMemoryInfo.DefaultInstance, type, tensor.shape, (IntPtr)data, bytes.Length);
    }

    static ValueInfoProto Info(string name, DataType type, object[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var d in dims)
            shape.Dim.Add(d is string symbol ? new TensorShapeProto.Types.Dimension { DimParam = symbol } : new TensorShapeProto.Types.Dimension { DimValue = Convert.ToInt64(d) });
        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = shape } } };
    }
}

/// <summary>A contiguous CPU tensor's bytes as Memory, so protobuf can serialize them without a managed copy first.</summary>
sealed unsafe class TensorMemory(Tensor tensor) : System.Buffers.MemoryManager<byte>
{
    public override Span<byte> GetSpan() => tensor.bytes;

    public override System.Buffers.MemoryHandle Pin(int elementIndex = 0)
    {
        fixed (byte* data = tensor.bytes) // native memory: it does not move, so the pointer outlives this block
            return new System.Buffers.MemoryHandle(data + elementIndex);
    }

    public override void Unpin() { }

    protected override void Dispose(bool disposing) { }
}

/// <summary>A compiled graph's session and what it reads its weights from, released together.</summary>
public sealed class CompiledGraph(InferenceSession session, IReadOnlyList<OrtValue> values, IReadOnlyList<Tensor> owned) : IDisposable
{
    public InferenceSession Session => session;

    public void Dispose()
    {
        session.Dispose();
        foreach (var value in values) value.Dispose();
        foreach (var tensor in owned) tensor.Dispose();
    }
}
