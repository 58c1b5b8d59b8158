using Microsoft.AspNetCore.Http.HttpResults;
using Service.Api.Errors;
using Service.Contracts;
using Service.Inference;
using Service.Inference.Chat;
using Service.Inference.FillMask;

namespace Service.Api.Endpoints;

/// <summary>
/// `POST /tokenize` and `POST /detokenize` at the root, as vLLM serves them: the request's model id picks
/// <see cref="ChatService"/> or <see cref="FillMaskService"/>, which do the work. Errors are problem details.
/// </summary>
public static class TokenizeEndpoints
{
    public static IEndpointRouteBuilder MapTokenizeEndpoints(this IEndpointRouteBuilder app)
    {
        var root = app.MapGroup("").AddEndpointFilter<InferenceErrorFilter>().WithTags("Tokenization");
        root.MapPost("/tokenize", Tokenize)
            .WithName("Tokenize")
            .WithSummary("Token ids of a prompt, or of a conversation as the chat route would build it (vLLM's shape)")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        root.MapPost("/detokenize", Detokenize)
            .WithName("Detokenize")
            .WithSummary("Text of token ids (vLLM's shape)")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        return app;
    }

    static Ok<TokenizeResponse> Tokenize(TokenizeRequest r, ChatService chat, FillMaskService fillMask)
    {
        bool specials = r.AddSpecialTokens ?? true;
        var tokenized = Model(r.Model, chat, fillMask) switch
        {
            Served.Chat => chat.Tokenize(r.Prompt, r.Messages?.Select(m => new ChatTurn(m.Role, m.Content)).ToList(), r.AddGenerationPrompt ?? true, specials),
            _ => fillMask.Tokenize(r.Prompt, r.Messages is not null, specials),
        };
        return TypedResults.Ok(new TokenizeResponse(tokenized.Tokens, tokenized.Tokens.Length, tokenized.MaxModelLength));
    }

    static Ok<DetokenizeResponse> Detokenize(DetokenizeRequest r, ChatService chat, FillMaskService fillMask) =>
        TypedResults.Ok(new DetokenizeResponse(Model(r.Model, chat, fillMask) == Served.Chat ? chat.Detokenize(r.Tokens) : fillMask.Detokenize(r.Tokens)));

    enum Served { Chat, FillMask }

    static Served Model(string? model, ChatService chat, FillMaskService fillMask)
    {
        if (string.IsNullOrWhiteSpace(model))
            throw InferenceException.Invalid("model is required: the chat or the fill-mask model's id (see GET /v1/models).", "model");
        if (chat.Serves(model)) return Served.Chat;
        if (fillMask.Serves(model)) return Served.FillMask;
        throw InferenceException.NotFound("The requested model does not exist here, or is not a chat or fill-mask model (see GET /v1/models).", "model");
    }
}
