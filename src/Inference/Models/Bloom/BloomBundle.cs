using Service.Inference.Chat;
using Service.Inference.Checkpoints;
using static TorchSharp.torch;

namespace Service.Inference.Models.Bloom;

/// <summary>A loaded BLOOM with its byte-level BPE tokenizer: a decoder LRP2 can probe (BLOOM adds no special tokens).</summary>
public sealed record BloomBundle(string Name, BloomForCausalLM Model, IChatTokenizer Tokenizer, string Fingerprint) : IProbedModel
{
    public bool IsDemo => false;
    IHiddenStateModel IProbedModel.Model => Model;
    public int PadId => Model.Config.PadTokenId;
    public int MaxSequenceLength => Model.MaxSequenceLength;
    public int[] EncodeSentence(string text) => Tokenizer.Encode(text);

    public static BloomBundle Load(CheckpointDirectory checkpoint, Device device, ScalarType dtype)
    {
        if (!checkpoint.Has("tokenizer.json"))
            throw new CheckpointException($"{checkpoint.Path} has no tokenizer.json, which a BLOOM checkpoint needs.");
        var tokenizer = HuggingFaceChatTokenizer.Load(checkpoint.File("tokenizer.json"),
            checkpoint.Has("tokenizer_config.json") ? checkpoint.File("tokenizer_config.json") : null);
        var name = Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(checkpoint.Path)));
        return new BloomBundle(name, BloomLoader.Load(checkpoint, device, dtype), tokenizer, CheckpointFingerprint.Of(checkpoint));
    }
}
