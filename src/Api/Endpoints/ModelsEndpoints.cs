using Microsoft.AspNetCore.Http.HttpResults;
using Service.Api.Infrastructure;
using Service.Contracts;
using Service.Inference.Hosting;

namespace Service.Api.Endpoints;

public static class ModelsEndpoints
{
    public static IEndpointRouteBuilder MapModelsEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/v1/models", ListModels)
            .WithName("ListModels")
            .WithTags("Models")
            .WithSummary("The served models (OpenAI-style list), with task and whether each is the demo")
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        return app;
    }

    static Results<Ok<ModelList>, ProblemHttpResult> ListModels(ModelHost host, HttpContext context)
    {
        try
        {
            var fillMask = host.Models.FillMaskModel;
            var card = new ModelCard(fillMask.Name, "model", host.ReadySince.ToUnixTimeSeconds(), "local", "fill-mask",
                fillMask.IsDemo, fillMask.Model.LayerCount, fillMask.MaxSequenceLength);
            var cards = new List<ModelCard> { card };
            if (host.Models.Chat?.Bundle is { } chat)
                cards.Add(new ModelCard(chat.Name, "model", host.ReadySince.ToUnixTimeSeconds(), "local", "chat",
                    chat.IsDemo, chat.Model.LayerCount, chat.Model.MaxSequenceLength));
            return TypedResults.Ok(new ModelList("list", cards));
        }
        catch (InferenceException e)
        {
            return ApiErrors.Problem(context, e);
        }
    }
}
