using Microsoft.AspNetCore.Http.HttpResults;
using Service.Contracts;
using Service.Inference.Hosting;

namespace Service.Api.Endpoints;

public static class ModelsEndpoints
{
    public static RouteGroupBuilder MapModelsEndpoints(this RouteGroupBuilder v1)
    {
        v1.MapGet("/models", ListModels)
            .WithName("ListModels")
            .WithTags("Models")
            .WithSummary("The served models (OpenAI-style list), with task and whether each is the demo")
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        return v1;
    }

    static Ok<ModelList> ListModels(ModelHost host)
    {
        var models = host.Models;
        var probed = models.Probed;
        long created = host.ReadySince.ToUnixTimeSeconds();
        // A decoder in the probe slot (BLOOM) serves LRP2 probing, not fill-mask.
        var cards = new List<ModelCard>
        {
            new(probed.Name, "model", created, "local", models.FillMask is null ? "probe" : "fill-mask", probed.IsDemo, probed.Model.LayerCount, probed.MaxSequenceLength),
        };
        if (models.Chat?.Bundle is { } chat)
            cards.Add(new ModelCard(chat.Name, "model", created, "local", "chat", chat.IsDemo, chat.Model.LayerCount, chat.Model.MaxSequenceLength));
        return TypedResults.Ok(new ModelList("list", cards));
    }
}
