using static TorchSharp.torch;

namespace Service.Inference.Models;

/// <summary>
/// A per-call hook on a model's layer loop: receives the hidden state after layer k
/// (k = 0 is the embedding output, k = L the last block's, as Hugging Face's `hidden_states`)
/// and returns the hidden state the next layer sees. LRP2 and the language-vector collector are
/// interventions; the models know nothing about either.
/// </summary>
public delegate Tensor HiddenStateIntervention(int layer, Tensor hidden);
