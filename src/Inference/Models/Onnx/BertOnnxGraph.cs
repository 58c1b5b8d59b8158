using Service.Inference.Models.Bert;
using static Service.Inference.Models.Onnx.OnnxGraph;
using static TorchSharp.torch;
using DataType = Onnx.TensorProto.Types.DataType;

namespace Service.Inference.Models.Onnx;

/// <summary>
/// BertForMaskedLM / XLMRobertaForMaskedLM from token ids to vocabulary logits at the mask rows, as
/// one ONNX graph over the TorchSharp model's weights. Tokens are flattened to [N = B*T, H], so every
/// product is a 2-D Gemm that reads the weight in the layout TorchSharp keeps it in. After each layer
/// k (0 = embeddings) the graph adds `shifts[k]` [B, 1, H] to every token of row b: LRP2 at any
/// (i, j), per row, with zeros where a layer is not shifted. With <c>int8</c>, every product (the
/// encoder's and the head's, the vocabulary projection included) runs in 8-bit integers
/// (<see cref="OnnxGraph.QuantizedLinear"/>); embeddings, LayerNorm and attention stay float32.
/// </summary>
public static class BertOnnxGraph
{
    public const string InputIds = "input_ids", PositionIds = "position_ids", TokenTypeIds = "token_type_ids";
    public const string AttentionBias = "attention_bias", Dims = "dims", Shifts = "shifts", MaskRows = "mask_rows", Logits = "logits";

    /// <summary>Why the model cannot run as this graph, or null when it can (every activation BertConfig accepts has an ONNX form).</summary>
    public static string? Unsupported(BertForMaskedLM model) =>
        model.parameters().Any(p => p.dtype != ScalarType.Float32 || p.device_type != TorchSharp.DeviceType.CPU) ? "weights that are not float32 on the CPU" : null;

    public static OnnxGraph Build(BertForMaskedLM model, bool int8 = false)
    {
        var c = model.Config;
        var weights = model.named_parameters().ToDictionary(p => p.name, p => (Tensor)p.parameter);
        var attention = model.named_modules().Select(m => m.module).OfType<BertSelfAttention>().ToArray();
        string prefix = c.IsRoberta ? "roberta" : "bert";
        long h = c.HiddenSize, heads = c.NumAttentionHeads, headSize = h / heads;
        var g = new OnnxGraph();

        var ids = g.Input(InputIds, DataType.Int64, "tokens");
        var positions = g.Input(PositionIds, DataType.Int64, "tokens");
        var types = g.Input(TokenTypeIds, DataType.Int64, "tokens");
        var bias = g.Input(AttentionBias, DataType.Float, "batch", 1, 1, "width");
        var dims = g.Input(Dims, DataType.Int64, 2);
        var shifts = g.Input(Shifts, DataType.Float, c.NumHiddenLayers + 1, "batch", 1, h);
        var maskRows = g.Input(MaskRows, DataType.Int64, "masks");

        // Shapes that depend on the batch come from the `dims` input ([B, T]), so that no node is constant.
        var rowsShape = g.Node("Concat", [dims, g.Constant(h)], Attribute("axis", 0L));                 // [B, T, H]
        var headsShape = g.Node("Concat", [dims, g.Constant(heads, headSize)], Attribute("axis", 0L));  // [B, T, nh, hs]
        var flatShape = g.Constant(-1, h);
        var scale = g.Constant((float)(1 / Math.Sqrt(headSize)));

        string W(string name) => g.Weight(name, weights[name]).Name;
        string Product(string x, string name, Tensor weight, string bias) => int8 ? g.QuantizedLinear(x, weight, bias) : g.Linear(x, name, weight, bias);
        string Linear(string x, string name) => Product(x, name + ".weight", weights[name + ".weight"], W(name + ".bias"));
        string LayerNorm(string x, string name) => g.Node("LayerNormalization", [x, W(name + ".weight"), W(name + ".bias")],
            n => { Attribute("axis", -1L)(n); Attribute("epsilon", (float)c.LayerNormEps)(n); });
        string Shift(string x, int layer) => g.Node("Reshape", [g.Node("Add", [g.Node("Reshape", [x, rowsShape]),
            g.Node("Gather", [shifts, g.Index(layer)], Attribute("axis", 0L))]), flatShape]);
        string Heads(string x, params long[] perm) => g.Node("Transpose", [g.Node("Reshape", [x, headsShape])], Attribute("perm", perm));

        var e = $"{prefix}.embeddings";
        string Embedding(string name, string indices) => g.Embedding($"{e}.{name}.weight", weights[$"{e}.{name}.weight"], indices);
        var x = g.Node("Add", [g.Node("Add", [Embedding("word_embeddings", ids), Embedding("position_embeddings", positions)]), Embedding("token_type_embeddings", types)]);
        x = Shift(LayerNorm(x, $"{e}.LayerNorm"), 0);

        for (int k = 0; k < c.NumHiddenLayers; k++)
        {
            var l = $"{prefix}.encoder.layer.{k}";
            var qkv = attention[k].Projections.Select((p, i) =>
                Product(x, $"{l}.attention.self.projection{i}.weight", p.Weight, g.Weight($"{l}.attention.self.projection{i}.bias", p.Bias).Name)).ToArray();
            if (qkv.Length == 1) qkv = [.. Enumerable.Range(0, 3).Select(i => g.Node("Slice", [qkv[0], g.Constant(i * h), g.Constant((i + 1) * h), g.Constant(1)]))];
            var q = Heads(qkv[0], 0, 2, 1, 3);   // [B, nh, T, hs]
            var kT = Heads(qkv[1], 0, 2, 3, 1);  // [B, nh, hs, T]
            var v = Heads(qkv[2], 0, 2, 1, 3);   // [B, nh, T, hs]
            var scores = g.Node("Add", [g.Node("Mul", [g.Node("MatMul", [q, kT]), scale]), bias]);
            var context = g.Node("MatMul", [g.Node("Softmax", [scores], Attribute("axis", -1L)), v]);
            context = g.Node("Reshape", [g.Node("Transpose", [context], Attribute("perm", 0L, 2, 1, 3)), flatShape]); // [N, H]
            var attended = LayerNorm(g.Node("Add", [Linear(context, $"{l}.attention.output.dense"), x]), $"{l}.attention.output.LayerNorm");
            var inner = Activation(g, c.HiddenAct, Linear(attended, $"{l}.intermediate.dense"));
            x = Shift(LayerNorm(g.Node("Add", [Linear(inner, $"{l}.output.dense"), attended]), $"{l}.output.LayerNorm"), k + 1);
        }

        // The head only at the mask rows, as the TorchSharp path does.
        var rows = g.Node("Gather", [x, maskRows], Attribute("axis", 0L)); // [M, H]
        var (dense, norm, head) = c.IsRoberta
            ? ("lm_head.dense", "lm_head.layer_norm", "lm_head")
            : ("cls.predictions.transform.dense", "cls.predictions.transform.LayerNorm", "cls.predictions");
        var transformed = LayerNorm(Activation(g, c.HiddenAct, Linear(rows, dense)), norm);
        var vocabulary = c.TieWordEmbeddings ? $"{e}.word_embeddings.weight" : $"{head}.decoder.weight";
        var logits = Product(transformed, vocabulary, weights[vocabulary], W($"{head}.bias"));
        g.Node("Identity", [logits], output: Logits);
        g.Output(Logits, DataType.Float, "masks", c.VocabSize);
        return g;
    }

    /// <summary>transformers' activations, each name <see cref="Activations.IsKnown"/> accepts: erf GELU, the tanh approximation (ORT's FastGelu computes the same formula), ReLU.</summary>
    static string Activation(OnnxGraph g, string name, string x) => name switch
    {
        "gelu" => g.Node("Gelu", [x], microsoft: true),
        "gelu_new" or "gelu_pytorch_tanh" or "gelu_fast" => g.Node("FastGelu", [x], microsoft: true),
        "relu" => g.Node("Relu", [x]),
        _ => throw new ArgumentException($"hidden_act {name} has no ONNX form here."),
    };
}
