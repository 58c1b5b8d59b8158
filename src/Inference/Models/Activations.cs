using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Service.Inference.Models;

/// <summary>Hugging Face `hidden_act` names mapped to the exact functions transformers uses.</summary>
public static class Activations
{
    public static bool IsKnown(string name) => name is "gelu" or "gelu_new" or "gelu_pytorch_tanh" or "gelu_fast" or "relu";

    public static Tensor Apply(string name, Tensor x) => name switch
    {
        "gelu" => F.gelu(x), // erf form, as in BERT and XLM-R
        "gelu_new" or "gelu_pytorch_tanh" or "gelu_fast" => F.gelu(x, TorchSharp.Modules.GELU.Approximate.tanh),
        "relu" => F.relu(x),
        _ => throw new ArgumentException($"unknown activation {name}"),
    };
}
