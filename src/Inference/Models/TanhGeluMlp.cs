using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Service.Inference.Models;

/// <summary>
/// The Megatron-style feed-forward of BLOOM and ChatGLM-6B: `dense_h_to_4h`, tanh-approximated GELU,
/// `dense_4h_to_h` (field names are the checkpoints' keys).
/// </summary>
public sealed class TanhGeluMlp : nn.Module
{
    readonly Linear dense_h_to_4h, dense_4h_to_h;

    public TanhGeluMlp(int hidden, int inner, Device device, ScalarType dtype) : base(nameof(TanhGeluMlp))
    {
        dense_h_to_4h = nn.Linear(hidden, inner, device: device, dtype: dtype);
        dense_4h_to_h = nn.Linear(inner, hidden, device: device, dtype: dtype);
        RegisterComponents();
    }

    public Tensor forward(Tensor x) => dense_4h_to_h.forward(F.gelu(dense_h_to_4h.forward(x), GELU.Approximate.tanh));
}
