using System.ComponentModel;
using System.Text.Json.Serialization;

namespace Service.Contracts;

[Description("An OpenAI-compatible chat completion request. Omitted sampling fields take the service's defaults (SoulChat's: temperature 0.95, top_p 0.75, max_tokens 512).")]
public sealed record ChatCompletionRequest
{
    [JsonPropertyName("model"), Description("The chat model's id, as GET /v1/models lists it.")]
    public string? Model { get; init; }

    [JsonPropertyName("messages"), Description("The conversation: an optional system message, then user and assistant turns, ending with a user message.")]
    public IReadOnlyList<ChatCompletionMessage>? Messages { get; init; }

    [JsonPropertyName("temperature"), Description("0 to 2; 0 means greedy (always the most likely token). Default 0.95.")]
    public double? Temperature { get; init; }

    [JsonPropertyName("top_p"), Description("Nucleus sampling: draw from the smallest set of tokens whose probability reaches top_p. Default 0.75.")]
    public double? TopP { get; init; }

    [JsonPropertyName("max_tokens"), Description("Most tokens to generate (default 512). Deprecated by OpenAI in favour of max_completion_tokens; both are read.")]
    public int? MaxTokens { get; init; }

    [JsonPropertyName("max_completion_tokens"), Description("Most tokens to generate (default 512); takes precedence over max_tokens.")]
    public int? MaxCompletionTokens { get; init; }

    [JsonPropertyName("stop"), JsonConverter(typeof(StringOrListConverter)), Description("Up to 4 strings (or one string) that end the reply; they are not included in it.")]
    public IReadOnlyList<string>? Stop { get; init; }

    [JsonPropertyName("seed"), Description("Makes sampling repeatable on the same machine and model.")]
    public long? Seed { get; init; }

    [JsonPropertyName("n"), Description("Number of choices; only 1 is supported.")]
    public int? N { get; init; }

    [JsonPropertyName("stream"), Description("Stream the reply as server-sent events (data: {chunk} lines, then data: [DONE]).")]
    public bool? Stream { get; init; }

    [JsonPropertyName("stream_options"), Description("Streaming options: include_usage adds a last chunk with token counts.")]
    public ChatStreamOptions? StreamOptions { get; init; }

    [JsonPropertyName("user"), Description("An opaque end-user id; accepted and never logged.")]
    public string? User { get; init; }

    [JsonPropertyName("top_k"), Description("Extension: sample only among the k most likely tokens (0 or absent = off).")]
    public int? TopK { get; init; }

    [JsonPropertyName("repetition_penalty"), Description("Extension: CTRL-style penalty on tokens already seen (1 = off, e.g. 1.1).")]
    public double? RepetitionPenalty { get; init; }
}

[Description("One message of the conversation.")]
public sealed record ChatCompletionMessage
{
    [JsonPropertyName("role"), Description("system, user or assistant (developer is read as system).")]
    public string? Role { get; init; }

    [JsonPropertyName("content"), JsonConverter(typeof(TextContentConverter)), Description("The text, as a string or as an array of text parts.")]
    public string? Content { get; init; }

    [JsonPropertyName("name"), Description("Optional participant name; accepted and ignored.")]
    public string? Name { get; init; }
}

public sealed record ChatStreamOptions
{
    [JsonPropertyName("include_usage"), Description("Send a last chunk, before [DONE], with the usage and no choices.")]
    public bool? IncludeUsage { get; init; }
}

[Description("A chat completion (stream: false).")]
public sealed record ChatCompletion(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("object")] string Object,
    [property: JsonPropertyName("created"), Description("Unix time of the request.")] long Created,
    [property: JsonPropertyName("model"), Description("The model that answered; demo models are named demo-*.")] string Model,
    [property: JsonPropertyName("choices")] IReadOnlyList<ChatChoice> Choices,
    [property: JsonPropertyName("usage")] ChatUsage Usage,
    [property: JsonPropertyName("ai_disclosure"), Description("Extension: the AI-disclosure notice that applies to every reply."), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? AiDisclosure);

public sealed record ChatChoice(
    [property: JsonPropertyName("index")] int Index,
    [property: JsonPropertyName("message")] ChatReplyMessage Message,
    [property: JsonPropertyName("finish_reason"), Description("stop (end of turn or a stop string) or length (max_tokens or the context).")] string FinishReason,
    [property: JsonPropertyName("crisis_notice"), Description("Extension: true when a crisis notice (support resources) precedes the reply."), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] bool? CrisisNotice);

public sealed record ChatReplyMessage(
    [property: JsonPropertyName("role")] string Role,
    [property: JsonPropertyName("content")] string Content);

public sealed record ChatUsage(
    [property: JsonPropertyName("prompt_tokens"), Description("Tokens of the prompt after formatting and truncation.")] int PromptTokens,
    [property: JsonPropertyName("completion_tokens")] int CompletionTokens,
    [property: JsonPropertyName("total_tokens")] int TotalTokens);

[Description("One server-sent event of a streamed chat completion.")]
public sealed record ChatCompletionChunk(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("object")] string Object,
    [property: JsonPropertyName("created")] long Created,
    [property: JsonPropertyName("model")] string Model,
    [property: JsonPropertyName("choices")] IReadOnlyList<ChatChunkChoice> Choices,
    [property: JsonPropertyName("usage"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] ChatUsage? Usage = null,
    [property: JsonPropertyName("ai_disclosure"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? AiDisclosure = null);

public sealed record ChatChunkChoice(
    [property: JsonPropertyName("index")] int Index,
    [property: JsonPropertyName("delta")] ChatDelta Delta,
    [property: JsonPropertyName("finish_reason")] string? FinishReason,
    [property: JsonPropertyName("crisis_notice"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] bool? CrisisNotice = null);

public sealed record ChatDelta(
    [property: JsonPropertyName("role"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Role = null,
    [property: JsonPropertyName("content"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Content = null);

[Description("OpenAI's error envelope, used by the OpenAI-compatible routes.")]
public sealed record OpenAiErrorResponse([property: JsonPropertyName("error")] OpenAiError Error);

public sealed record OpenAiError(
    [property: JsonPropertyName("message"), Description("What went wrong and what to change.")] string Message,
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("param")] string? Param,
    [property: JsonPropertyName("code")] string? Code);
