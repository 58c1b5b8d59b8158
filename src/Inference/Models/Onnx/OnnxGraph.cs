using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using TensorElementType = Microsoft.ML.OnnxRuntime.Tensors.TensorElementType;
using Onnx;
using TorchSharp;
using static TorchSharp.torch;
using DataType = Onnx.TensorProto.Types.DataType;

namespace Service.Inference.Models.Onnx;

/// <summary>
/// Builds an ONNX graph in memory from a TorchSharp model's tensors and compiles it into an ONNX
/// Runtime session, without writing anything to disk. The weights are serialized into the model
/// straight from the tensors' memory; ONNX Runtime keeps its own copy, packed for its kernels
/// (prepacking is what makes its products fast, and ONNX Runtime validates every initializer's data
/// when it reads a model, so weights cannot be handed over as bare OrtValues). A protobuf message
/// holds at most 2 GB, hence <see cref="MaxWeightBytes"/>.
/// Nodes get generated output names; the graph is only ever built by code, never read.
/// </summary>
public sealed class OnnxGraph
{
    const string MicrosoftDomain = "com.microsoft";
    readonly GraphProto _graph = new() { Name = "service" };
    /// <summary>The most weight data one graph can carry (protobuf's 2 GB limit, less room for the graph).</summary>
    public const long MaxWeightBytes = int.MaxValue - (64 << 20);

    readonly Dictionary<string, bool> _transposed = [];
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
        var initializer = new TensorProto { Name = name, DataType = (int)DataType.Float, RawData = UnsafeByteOperations.UnsafeWrap(new TensorMemory(stored).Memory) };
        initializer.Dims.AddRange(stored.shape);
        _graph.Initializer.Add(initializer);
        _transposed[name] = transposed;
        return (name, transposed);
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
        using var scope = torch.NewDisposeScope();
        var w = weight.detach().to(ScalarType.Float32);
        var scale = (w.abs().amax([1]).clamp_min(1e-30) / levels).contiguous(); // [out]
        var q = (w / scale.unsqueeze(1)).round().clamp(-levels, levels).to(ScalarType.Int8).t().contiguous(); // [in, out]
        var weights = Constant(DataType.Int8, q.bytes.ToArray(), q.shape);
        var weightScale = Constant(DataType.Float, scale.bytes.ToArray(), [scale.shape[0]]);
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

    public long WeightBytes => _graph.Initializer.Sum(i => (long)i.RawData.Length);

    public InferenceSession Compile(SessionOptions options)
    {
        if (WeightBytes > MaxWeightBytes)
            throw new InvalidOperationException($"the weights ({WeightBytes >> 20} MB) exceed the {MaxWeightBytes >> 20} MB an in-memory ONNX model can carry");
        var model = new ModelProto { IrVersion = 8, ProducerName = "Service.Inference", Graph = _graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 17 });
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = MicrosoftDomain, Version = 1 });
        return new InferenceSession(model.ToByteArray(), options);
    }

    /// <summary>An OrtValue over a contiguous float32 CPU tensor's memory; the tensor must outlive it.</summary>
    public static unsafe OrtValue Share(Tensor tensor)
    {
        var bytes = tensor.bytes; // the tensor's own native memory: no pinning needed, no copy made
        fixed (byte* data = bytes)
            return OrtValue.CreateTensorValueWithData(OrtMemoryInfo.DefaultInstance, TensorElementType.Float, tensor.shape, (IntPtr)data, bytes.Length);
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
