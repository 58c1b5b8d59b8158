namespace Service.Inference.Models;

/// <summary>
/// A model LRP2 probes, with what language vectors need: sentences to token ids (with the model's
/// special tokens), padding, and the layer loop. A masked LM (BERT, XLM-R) or a decoder (BLOOM).
/// </summary>
public interface IProbedModel
{
    string Name { get; }
    bool IsDemo { get; }
    /// <summary>Identity of the weights: language vectors computed on one model are never used on another.</summary>
    string Fingerprint { get; }
    IHiddenStateModel Model { get; }
    int PadId { get; }
    /// <summary>Longest input in tokens, special tokens included.</summary>
    int MaxSequenceLength { get; }
    int[] EncodeSentence(string text);
}
