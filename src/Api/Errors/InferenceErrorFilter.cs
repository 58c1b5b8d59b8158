using Service.Inference;

namespace Service.Api.Errors;

/// <summary>
/// The `/v1` group's one error mapping: an <see cref="InferenceException"/> from a handler becomes its
/// status and body through <see cref="ApiErrors"/>, so handlers never catch. Anything else (a departed
/// client, a bug, an unreadable body) goes on to <see cref="ExceptionToProblem"/>, which writes with the
/// same writer.
/// </summary>
public sealed class InferenceErrorFilter : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        try
        {
            return await next(context);
        }
        catch (InferenceException e)
        {
            return ApiErrors.Result(context.HttpContext, ApiErrors.From(e));
        }
    }
}
