using Service.Inference.Chat;
using Service.Inference.Models.Llama;
using TorchSharp;
using static TorchSharp.torch;

namespace Service.Inference.Demo;

/// <summary>
/// The chat model served when no checkpoint is configured: a tiny Llama with random weights from a
/// fixed seed and a byte tokenizer, so any text in any script round-trips and every chat endpoint
/// works on a fresh machine. Its replies are meaningless bytes, and every response names it demo-*.
/// </summary>
public static class DemoChatModel
{
    public const string Name = "demo-tiny-llama";
    const int Seed = 20231206;

    // Enough special tokens for the ChatML and Llama 3 formats; ids 256 and up.
    static readonly string[] SpecialTokens =
        ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"];

    public static ChatBundle Create(Device device, ScalarType dtype, string? promptFormat)
    {
        var tokenizer = new ByteTokenizer(SpecialTokens);
        var config = new LlamaConfig
        {
            Architectures = ["LlamaForCausalLM"],
            VocabSize = tokenizer.VocabSize,
            HiddenSize = 64,
            IntermediateSize = 128,
            NumHiddenLayers = 2,
            NumAttentionHeads = 4,
            NumKeyValueHeads = 2,
            MaxPositionEmbeddings = 2048, // the default input budget plus the default reply length
        };
        torch.manual_seed(Seed);
        var model = new LlamaForCausalLM(config, device, dtype);
        model.eval();
        var format = ChatModelLoader.ChooseFormat(promptFormat, tokenizer, Name);
        var eos = new HashSet<int>(new[] { "<|endoftext|>", "<|im_end|>", "<|eot_id|>" }.Select(t => tokenizer.SpecialTokenId(t)!.Value));
        return new ChatBundle(Name, IsDemo: true, model, tokenizer, format, eos);
    }
}
