using Service.Api.Errors;

namespace Service.Api.Endpoints;

/// <summary>The `/v1` API: one group, one error filter (<see cref="InferenceErrorFilter"/>), one static class per feature.</summary>
public static class V1Endpoints
{
    public static IEndpointRouteBuilder MapV1Endpoints(this IEndpointRouteBuilder app)
    {
        var v1 = app.MapGroup("/v1").AddEndpointFilter<InferenceErrorFilter>();
        v1.MapModelsEndpoints();
        v1.MapFillMaskEndpoints();
        v1.MapChatEndpoints();
        v1.MapLanguageVectorEndpoints();
        v1.MapProbeEndpoints();
        return app;
    }
}
