namespace Service.Inference.Hosting;

/// <summary>`Models:Chat:*`: the chat model's checkpoint and how its prompts are written.</summary>
public sealed class ChatModelSlotOptions
{
    /// <summary>Hugging Face checkpoint directory of the decoder; empty serves the embedded demo model.</summary>
    public string? Path { get; set; }
    /// <summary>
    /// `soulchat`, `chatml`, `llama3`, `chatglm` or `template`; empty uses the checkpoint's chat template
    /// when it has one (as transformers' apply_chat_template does), else chooses from the tokenizer's special tokens.
    /// </summary>
    public string? PromptFormat { get; set; }
    /// <summary>
    /// The system message when a request has none, which the prompt format then writes (a chat
    /// template writes its own default, if any, only when this is empty); empty: none.
    /// </summary>
    public string? SystemPrompt { get; set; }
    /// <summary>
    /// The chat model's dtype when it should differ from Inference:DType (empty: the same). Chat is
    /// where bfloat16 pays: half the bytes per decoded token, and on CPUs with AVX512-BF16 batched
    /// decode steps scale with the batch (see BENCHMARKS.md), while probes keep float32's exactness.
    /// </summary>
    public string? DType { get; set; }
    /// <summary>
    /// `int8`: the decoder's matrices quantised at load, per output row (a quarter of float32's bytes per
    /// decoded token; activations, norms and the KV cache stay float32); empty: weights in the model's dtype.
    /// CPU and float32 only; Llama and Qwen2 checkpoints.
    /// </summary>
    [System.ComponentModel.DataAnnotations.RegularExpression("^(|int8)$", ErrorMessage = "Models:Chat:Weights must be empty or int8.")]
    public string? Weights { get; set; }
}
