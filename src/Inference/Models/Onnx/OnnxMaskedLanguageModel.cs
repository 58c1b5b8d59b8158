using Microsoft.ML.OnnxRuntime;
using Service.Inference.Models.Bert;
using TorchSharp;
using static TorchSharp.torch;

namespace Service.Inference.Models.Onnx;

/// <summary>
/// A float32 CPU BERT / XLM-R whose fill-mask calls (<see cref="PredictAt"/>: encoder, LRP2 shifts,
/// head at the masks) run as one ONNX Runtime graph over the same weights, because libtorch's
/// products with 16 rows reach a third of what ONNX Runtime's kernels do at that shape (BENCHMARKS.md).
/// Everything else (hidden states for language vectors and probes, interventions other than
/// additive shifts) runs on the TorchSharp model it wraps.
/// </summary>
public sealed class OnnxMaskedLanguageModel : IMaskedLanguageModel
{
    readonly BertForMaskedLM _model;
    readonly CompiledGraph _graph;
    readonly RunOptions _run = new();

    OnnxMaskedLanguageModel(BertForMaskedLM model, CompiledGraph graph) => (_model, _graph) = (model, graph);

    /// <summary>The wrapped model, or null with the reason when its graph cannot be built.</summary>
    /// <param name="int8">Products in 8-bit integers (Models:FillMask:Weights=int8), see <see cref="BertOnnxGraph"/>.</param>
    /// <param name="temporaryRoot">Where the weights' placeholder is written (tests); the system's temporary directory when null.</param>
    public static (OnnxMaskedLanguageModel? Model, string? Unsupported) TryCreate(BertForMaskedLM model, int threads, bool int8 = false, string? temporaryRoot = null)
    {
        if (BertOnnxGraph.Unsupported(model) is { } reason) return (null, reason);
        var graph = BertOnnxGraph.Build(model, int8);
        var options = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            IntraOpNumThreads = threads,
            InterOpNumThreads = 1,
        };
        using (options)
            return (new OnnxMaskedLanguageModel(model, graph.Compile(options, temporaryRoot)), null);
    }

    /// <summary>The TorchSharp model the graph was built from (and everything but fill-mask runs on).</summary>
    public BertForMaskedLM Torch => _model;

    public int LayerCount => _model.LayerCount;
    public int HiddenSize => _model.HiddenSize;
    public int VocabSize => _model.VocabSize;
    public int MaxSequenceLength => _model.MaxSequenceLength;
    public Device Device => _model.Device;

    public Tensor Encode(Tensor inputIds, Tensor attentionMask, HiddenStateIntervention? intervention = null) =>
        _model.Encode(inputIds, attentionMask, intervention);

    public Tensor PredictTokens(Tensor hiddenRows) => _model.PredictTokens(hiddenRows);

    public Tensor PredictAt(Tensor inputIds, Tensor attentionMask, long[] positions, LayerShifts? shifts)
    {
        int b = (int)inputIds.shape[0], t = (int)inputIds.shape[1], hidden = HiddenSize;
        var ids = inputIds.cpu().data<long>().ToArray();
        var attention = attentionMask.cpu().data<long>().ToArray();
        var inputs = new Dictionary<string, OrtValue>
        {
            [BertOnnxGraph.InputIds] = OrtValue.CreateTensorValueFromMemory(ids, [b * t]),
            [BertOnnxGraph.PositionIds] = OrtValue.CreateTensorValueFromMemory(_model.PositionIds(inputIds).expand(b, t).cpu().contiguous().data<long>().ToArray(), [b * t]),
            [BertOnnxGraph.TokenTypeIds] = OrtValue.CreateTensorValueFromMemory(new long[b * t], [b * t]),
            [BertOnnxGraph.AttentionBias] = OrtValue.CreateTensorValueFromMemory(Array.ConvertAll(attention, a => a != 0 ? 0f : float.NegativeInfinity), [b, 1, 1, t]),
            [BertOnnxGraph.Dims] = OrtValue.CreateTensorValueFromMemory(new long[] { b, t }, [2]),
            [BertOnnxGraph.Shifts] = OrtValue.CreateTensorValueFromMemory(shifts?.Dense(LayerCount) ?? new float[(LayerCount + 1) * b * hidden], [LayerCount + 1, b, 1, hidden]),
            [BertOnnxGraph.MaskRows] = OrtValue.CreateTensorValueFromMemory(positions, [positions.Length]),
        };
        // ONNX Runtime writes the logits straight into a TorchSharp tensor's memory.
        var logits = torch.empty([positions.Length, VocabSize], ScalarType.Float32);
        try
        {
            using var output = OnnxGraph.Share(logits);
            _graph.Session.Run(_run, inputs.Keys.ToArray(), inputs.Values.ToArray(), [BertOnnxGraph.Logits], [output]);
            return logits;
        }
        catch
        {
            logits.Dispose();
            throw;
        }
        finally
        {
            foreach (var value in inputs.Values) value.Dispose();
        }
    }

    public void Dispose()
    {
        _graph.Dispose();
        _run.Dispose();
        _model.Dispose();
    }
}
