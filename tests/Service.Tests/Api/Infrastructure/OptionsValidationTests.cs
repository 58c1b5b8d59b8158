using Microsoft.Extensions.Options;
using Service.Tests.Support;

namespace Service.Tests.Api.Infrastructure;

/// <summary>Every options class is validated when the host starts: a bad limit stops start-up and names the setting.</summary>
public sealed class OptionsValidationTests
{
    [Theory]
    [InlineData("FillMask:MaxTopK", "0", "MaxTopK")]
    [InlineData("FillMask:Batching:MaxBatchSize", "0", "MaxBatchSize")]
    [InlineData("Chat:Batching:PrefillChunkTokens", "-1", "PrefillChunkTokens")]
    [InlineData("LanguageVectors:MaxSentences", "0", "MaxSentences")]
    [InlineData("Probes:MaxFacts", "0", "MaxFacts")]
    [InlineData("Inference:FillMaskRuntime", "tensorrt", "FillMaskRuntime")]
    [InlineData("Models:FillMask:Weights", "int4", "Weights")]
    [InlineData("Models:Chat:Weights", "int4", "Weights")]
    public void A_value_out_of_range_stops_start_up(string key, string value, string named)
    {
        using var factory = new ServiceFactory(new Dictionary<string, string?> { [key] = value });
        var error = Assert.ThrowsAny<Exception>(() => factory.CreateClient());
        var validation = error as OptionsValidationException ?? error.InnerException as OptionsValidationException
            ?? (error as AggregateException)?.InnerExceptions.OfType<OptionsValidationException>().FirstOrDefault();
        Assert.NotNull(validation);
        Assert.Contains(named, validation.Message);
    }
}
