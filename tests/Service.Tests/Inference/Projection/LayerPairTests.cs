using Service.Inference;
using Service.Inference.Hosting;
using Service.Inference.Projection;
using Service.Tests.Support;

namespace Service.Tests.Inference.Projection;

public sealed class LayerPairTests
{
    static readonly ProjectionOptions NoConfiguration = new();

    [Fact]
    public void The_request_wins_then_configuration_then_the_paper_then_the_default()
    {
        var configured = new ProjectionOptions { Layers = new() { ["fr"] = [2, 9] }, DefaultLayers = [5, 8] };
        Assert.Equal(new LayerPair(1, 2, LayerSource.Request), LayerPairs.Resolve("fr", 1, 2, 12, PaperModel.MultilingualBertBaseCased, configured));
        Assert.Equal(new LayerPair(2, 9, LayerSource.Configuration), LayerPairs.Resolve("fr", null, null, 12, PaperModel.MultilingualBertBaseCased, configured));
        Assert.Equal(new LayerPair(4, 10, LayerSource.Paper), LayerPairs.Resolve("zh", null, null, 12, PaperModel.MultilingualBertBaseCased, configured));
        Assert.Equal(new LayerPair(17, 23, LayerSource.Paper), LayerPairs.Resolve("zh", null, null, 24, PaperModel.Bloom560m, configured));
        Assert.Equal(new LayerPair(5, 8, LayerSource.Default), LayerPairs.Resolve("zh", null, null, 12, PaperModel.None, configured));
        Assert.Equal(LayerSource.Default, LayerPairs.Resolve("zh", null, null, 12, PaperModel.None, NoConfiguration).Source);
    }

    [Theory]
    [InlineData(0, 3)]
    [InlineData(3, 3)]
    [InlineData(4, 2)]
    [InlineData(2, 13)]
    public void Invalid_pairs_are_refused_with_the_rule(int i, int j)
    {
        var error = Assert.Throws<InferenceException>(() => LayerPairs.Resolve("fr", i, j, 12, PaperModel.None, NoConfiguration));
        Assert.Contains("1 <= lirp_layer < lsrp_layer <= 12", error.Message);
    }

    [Fact]
    public void Half_a_pair_is_refused() =>
        Assert.Contains("both", Assert.Throws<InferenceException>(() => LayerPairs.Resolve("fr", 3, null, 12, PaperModel.None, NoConfiguration)).Message);
}
