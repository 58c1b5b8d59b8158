using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace Service.Inference.Models.Bert;

// The two MLM head layouts: BERT's `cls.predictions.{transform.dense, transform.LayerNorm, bias, decoder}`
// and RoBERTa's `lm_head.{dense, layer_norm, bias, decoder}`. Same math: dense, activation,
// LayerNorm, then the (usually tied) decoder projection onto the vocabulary plus a bias.

public sealed class BertPredictionTransform : nn.Module
{
    readonly Linear dense;
    [ComponentName(Name = "LayerNorm")] readonly LayerNorm layerNorm;
    readonly string _act;

    public BertPredictionTransform(BertConfig c, Device device, ScalarType dtype) : base(nameof(BertPredictionTransform))
    {
        dense = nn.Linear(c.HiddenSize, c.HiddenSize, device: device, dtype: dtype);
        layerNorm = nn.LayerNorm(c.HiddenSize, c.LayerNormEps, device: device, dtype: dtype);
        _act = c.HiddenAct;
        RegisterComponents();
    }

    public Tensor forward(Tensor x) => layerNorm.forward(Activations.Apply(_act, dense.forward(x)));
}

/// <summary>`cls.predictions`</summary>
public sealed class BertLMPredictionHead : nn.Module
{
    readonly BertPredictionTransform transform;
    readonly Parameter bias;
    readonly Linear? decoder; // only when the config unties it from the word embeddings

    public BertLMPredictionHead(BertConfig c, Device device, ScalarType dtype) : base(nameof(BertLMPredictionHead))
    {
        transform = new BertPredictionTransform(c, device, dtype);
        bias = nn.Parameter(torch.zeros(c.VocabSize, dtype, device));
        decoder = c.TieWordEmbeddings ? null : nn.Linear(c.HiddenSize, c.VocabSize, hasBias: false, device: device, dtype: dtype);
        RegisterComponents();
    }

    public Tensor forward(Tensor hidden, Tensor wordEmbeddings) =>
        nn.functional.linear(transform.forward(hidden), decoder?.weight ?? wordEmbeddings, bias);
}

/// <summary>`cls` (its `seq_relationship` NSP head is not loaded: fill-mask does not use it).</summary>
public sealed class BertOnlyMLMHead : nn.Module
{
    readonly BertLMPredictionHead predictions;

    public BertOnlyMLMHead(BertConfig c, Device device, ScalarType dtype) : base(nameof(BertOnlyMLMHead))
    {
        predictions = new BertLMPredictionHead(c, device, dtype);
        RegisterComponents();
    }

    public Tensor forward(Tensor hidden, Tensor wordEmbeddings) => predictions.forward(hidden, wordEmbeddings);
}

/// <summary>`lm_head` of RoBERTa / XLM-R.</summary>
public sealed class RobertaLMHead : nn.Module
{
    readonly Linear dense;
    readonly LayerNorm layer_norm;
    readonly Parameter bias;
    readonly Linear? decoder;
    readonly string _act;

    public RobertaLMHead(BertConfig c, Device device, ScalarType dtype) : base(nameof(RobertaLMHead))
    {
        dense = nn.Linear(c.HiddenSize, c.HiddenSize, device: device, dtype: dtype);
        layer_norm = nn.LayerNorm(c.HiddenSize, c.LayerNormEps, device: device, dtype: dtype);
        bias = nn.Parameter(torch.zeros(c.VocabSize, dtype, device));
        decoder = c.TieWordEmbeddings ? null : nn.Linear(c.HiddenSize, c.VocabSize, hasBias: false, device: device, dtype: dtype);
        _act = c.HiddenAct;
        RegisterComponents();
    }

    public Tensor forward(Tensor hidden, Tensor wordEmbeddings) =>
        nn.functional.linear(layer_norm.forward(Activations.Apply(_act, dense.forward(hidden))), decoder?.weight ?? wordEmbeddings, bias);
}
