using System.ComponentModel;
using System.Text.Json.Serialization;

namespace Service.Contracts;

[Description("POST /tokenize, in vLLM's shape: either prompt, or (chat model only) messages with add_generation_prompt.")]
public sealed record TokenizeRequest
{
    [JsonPropertyName("model"), Description("The chat model's or the fill-mask model's id, as GET /v1/models lists it.")]
    public string? Model { get; init; }

    [JsonPropertyName("prompt"), Description("Text to tokenize. For the fill-mask model, [MASK] becomes the mask token, as on /v1/fill-mask; for the chat model, text never becomes special tokens.")]
    public string? Prompt { get; init; }

    [JsonPropertyName("messages"), Description("Chat model only: a conversation, tokenized exactly as POST /v1/chat/completions builds its prompt (prompt format, default system message, oldest turns dropped to fit Chat:MaxInputTokens).")]
    public IReadOnlyList<ChatCompletionMessage>? Messages { get; init; }

    [JsonPropertyName("add_generation_prompt"), Description("With messages: end the prompt where the assistant's reply begins. Default true; false is refused, as the chat route always adds it.")]
    public bool? AddGenerationPrompt { get; init; }

    [JsonPropertyName("add_special_tokens"), Description("With prompt: add the tokenizer's own special tokens (BERT's [CLS] and [SEP], XLM-R's <s> and </s>, Llama's BOS). Default true.")]
    public bool? AddSpecialTokens { get; init; }
}

[Description("The token ids a model reads for the input.")]
public sealed record TokenizeResponse(
    [property: JsonPropertyName("tokens"), Description("Token ids, in order.")] IReadOnlyList<int> Tokens,
    [property: JsonPropertyName("count"), Description("Number of token ids.")] int Count,
    [property: JsonPropertyName("max_model_len"), Description("The model's context length in tokens (prompt and reply together for the chat model).")] int MaxModelLen);

[Description("POST /detokenize, in vLLM's shape.")]
public sealed record DetokenizeRequest
{
    [JsonPropertyName("model"), Description("The chat model's or the fill-mask model's id, as GET /v1/models lists it.")]
    public string? Model { get; init; }

    [JsonPropertyName("tokens"), Description("Token ids of that model (0 to its vocabulary size - 1), at most 131072.")]
    public IReadOnlyList<int>? Tokens { get; init; }
}

[Description("The text of the token ids.")]
public sealed record DetokenizeResponse(
    [property: JsonPropertyName("prompt"), Description("The decoded text: the chat model drops special tokens as in replies; the fill-mask model keeps them (Hugging Face's decode default).")] string Prompt);
