using System.ComponentModel;
using System.Text.Json.Serialization;

namespace Service.Contracts;

[Description("An OpenAI-compatible chat completion request. Omitted sampling fields take Chat:* configuration, else the checkpoint's generation_config.json, else SoulChat's values (temperature 0.95, top_p 0.75); max_tokens defaults to 512.")]
public sealed record ChatCompletionRequest
{
    [JsonPropertyName("model"), Description("The chat model's id, as GET /v1/models lists it.")]
    public string? Model { get; init; }

    [JsonPropertyName("messages"), Description("The conversation: an optional system message, then user and assistant turns, ending with a user message.")]
    public IReadOnlyList<ChatCompletionMessage>? Messages { get; init; }

    [JsonPropertyName("temperature"), Description("0 to 2; 0 means greedy (always the most likely token). Default: Chat:Temperature, generation_config.json, else 0.95.")]
    public double? Temperature { get; init; }

    [JsonPropertyName("top_p"), Description("Nucleus sampling: draw from the smallest set of tokens whose probability reaches top_p. Default: Chat:TopP, generation_config.json, else 0.75.")]
    public double? TopP { get; init; }

    [JsonPropertyName("max_tokens"), Description("Most tokens to generate (default 512). Deprecated by OpenAI in favour of max_completion_tokens; both are read.")]
    public int? MaxTokens { get; init; }

    [JsonPropertyName("max_completion_tokens"), Description("Most tokens to generate (default 512); takes precedence over max_tokens.")]
    public int? MaxCompletionTokens { get; init; }

    [JsonPropertyName("stop"), JsonConverter(typeof(StringOrListConverter)), Description("Up to 4 strings (or one string) that end the reply; they are not included in it.")]
    public IReadOnlyList<string>? Stop { get; init; }

    [JsonPropertyName("seed"), Description("Makes sampling repeatable on the same machine and model; with n > 1, choice k uses seed + k.")]
    public long? Seed { get; init; }

    [JsonPropertyName("n"), Description("Number of choices, 1 to 8 (default 1). Each choice is its own sequence in the decode batch; the prompt runs once and the choices copy its cache. With a seed, choice k samples with seed + k, so every choice is reproducible on its own (choice 0 as a request with n = 1). usage counts the prompt once and the completion tokens of all choices.")]
    public int? N { get; init; }

    [JsonPropertyName("stream"), Description("Stream the reply as server-sent events (data: {chunk} lines, then data: [DONE]).")]
    public bool? Stream { get; init; }

    [JsonPropertyName("stream_options"), Description("Streaming options: include_usage adds a last chunk with token counts.")]
    public ChatStreamOptions? StreamOptions { get; init; }

    [JsonPropertyName("user"), Description("An opaque end-user id; accepted and never logged.")]
    public string? User { get; init; }

    [JsonPropertyName("top_k"), Description("Extension: sample only among the k most likely tokens (0 = off; absent: Chat:TopK, generation_config.json, else off).")]
    public int? TopK { get; init; }

    [JsonPropertyName("repetition_penalty"), Description("Extension: CTRL-style penalty on tokens already seen (1 = off, e.g. 1.1; absent: Chat:RepetitionPenalty, generation_config.json, else off).")]
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

[Description("Options of a streamed reply (stream: true).")]
public sealed record ChatStreamOptions
{
    [JsonPropertyName("include_usage"), Description("Send a last chunk, before [DONE], with the usage and no choices.")]
    public bool? IncludeUsage { get; init; }
}

[Description("A chat completion (stream: false).")]
public sealed record ChatCompletion(
    [property: JsonPropertyName("id"), Description("Identity of this completion (chatcmpl-...).")] string Id,
    [property: JsonPropertyName("object"), Description("Always chat.completion.")] string Object,
    [property: JsonPropertyName("created"), Description("Unix time of the request.")] long Created,
    [property: JsonPropertyName("model"), Description("The model that answered; demo models are named demo-*.")] string Model,
    [property: JsonPropertyName("choices"), Description("The n replies, in index order.")] IReadOnlyList<ChatChoice> Choices,
    [property: JsonPropertyName("usage"), Description("Token counts of the request and the reply.")] ChatUsage Usage,
    [property: JsonPropertyName("ai_disclosure"), Description("Extension: the AI-disclosure notice that applies to every reply."), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? AiDisclosure);

[Description("One generated reply.")]
public sealed record ChatChoice(
    [property: JsonPropertyName("index"), Description("Position of the choice, 0 to n - 1.")] int Index,
    [property: JsonPropertyName("message"), Description("The assistant's reply, after any notice preamble.")] ChatReplyMessage Message,
    [property: JsonPropertyName("finish_reason"), Description("stop (end of turn or a stop string) or length (max_tokens or the context).")] string FinishReason,
    [property: JsonPropertyName("crisis_notice"), Description("Extension: true when a crisis notice (support resources) precedes the reply."), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] bool? CrisisNotice);

[Description("The assistant's message.")]
public sealed record ChatReplyMessage(
    [property: JsonPropertyName("role"), Description("Always assistant.")] string Role,
    [property: JsonPropertyName("content"), Description("The reply text (with the AI disclosure and crisis notice first when they apply).")] string Content);

[Description("Token counts, as OpenAI reports them.")]
public sealed record ChatUsage(
    [property: JsonPropertyName("prompt_tokens"), Description("Tokens of the prompt after formatting and truncation.")] int PromptTokens,
    [property: JsonPropertyName("completion_tokens"), Description("Tokens generated for the reply; with n > 1, for all choices together.")] int CompletionTokens,
    [property: JsonPropertyName("total_tokens"), Description("prompt_tokens + completion_tokens.")] int TotalTokens);

[Description("One server-sent event of a streamed chat completion.")]
public sealed record ChatCompletionChunk(
    [property: JsonPropertyName("id"), Description("Identity of the completion; the same in every chunk of one stream.")] string Id,
    [property: JsonPropertyName("object"), Description("Always chat.completion.chunk.")] string Object,
    [property: JsonPropertyName("created"), Description("Unix time of the request; the same in every chunk.")] long Created,
    [property: JsonPropertyName("model"), Description("The model that answers; demo models are named demo-*.")] string Model,
    [property: JsonPropertyName("choices"), Description("One choice with this chunk's delta (its index says which); empty in the usage chunk.")] IReadOnlyList<ChatChunkChoice> Choices,
    [property: JsonPropertyName("usage"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull), Description("Only in the last chunk before [DONE], when stream_options.include_usage is true.")] ChatUsage? Usage = null,
    [property: JsonPropertyName("ai_disclosure"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull), Description("Extension, first chunk only: the AI-disclosure notice that applies to every reply.")] string? AiDisclosure = null);

[Description("The choice of a streamed chunk.")]
public sealed record ChatChunkChoice(
    [property: JsonPropertyName("index"), Description("Position of the choice this delta belongs to, 0 to n - 1.")] int Index,
    [property: JsonPropertyName("delta"), Description("What this chunk adds to the reply.")] ChatDelta Delta,
    [property: JsonPropertyName("finish_reason"), Description("null until the choice's last chunk; then stop or length (one per choice).")] string? FinishReason,
    [property: JsonPropertyName("crisis_notice"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull), Description("Extension, first chunk only: true when a crisis notice precedes the reply.")] bool? CrisisNotice = null);

[Description("A piece of the streamed reply.")]
public sealed record ChatDelta(
    [property: JsonPropertyName("role"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull), Description("assistant, in the first chunk only.")] string? Role = null,
    [property: JsonPropertyName("content"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull), Description("Text to append to the reply; absent in the last chunk.")] string? Content = null);

[Description("OpenAI's error envelope, used by the OpenAI-compatible routes.")]
public sealed record OpenAiErrorResponse([property: JsonPropertyName("error"), Description("The error.")] OpenAiError Error);

[Description("An error as OpenAI's API reports it.")]
public sealed record OpenAiError(
    [property: JsonPropertyName("message"), Description("What went wrong and what to change.")] string Message,
    [property: JsonPropertyName("type"), Description("invalid_request_error, rate_limit_error, service_unavailable_error or server_error.")] string Type,
    [property: JsonPropertyName("param"), Description("The request field at fault, if one is (e.g. messages, max_tokens).")] string? Param,
    [property: JsonPropertyName("code"), Description("invalid_value, model_not_found, invalid_api_key or rate_limit_exceeded, when one applies.")] string? Code);
