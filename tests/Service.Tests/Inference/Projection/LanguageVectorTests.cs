using Microsoft.Extensions.Logging.Abstractions;
using Service.Inference.Demo;
using Service.Inference.FillMask;
using Service.Inference.Models;
using Service.Inference.Projection;
using Service.Tests.Support;
using TorchSharp;
using static TorchSharp.torch;

namespace Service.Tests.Inference.Projection;

/// <summary>Invariants of LRP2 that hold for any model; the demo BERT serves as one.</summary>
public sealed class LanguageVectorTests
{
    static readonly MaskedLmBundle Demo = DemoMaskedLm.Create(torch.CPU, ScalarType.Float32);
    static readonly string[] English = ["Paris is the capital of France.", "The river is long.", "He speaks English and French.", "London is a city in England."];
    static readonly string[] French = ["Paris est la capitale de la France.", "le fleuve est long.", "la ville de Paris", "Madrid est la capitale."];

    static LanguageVectors Vectors(string language, string[] sentences, int batchSize = LanguageVectorComputer.DefaultBatchSize) =>
        new(language, Demo.Name, Demo.Fingerprint, sentences.Length, LanguageVectors.Digest(sentences), DateTimeOffset.UtcNow,
            LanguageVectorComputer.Compute(Demo, sentences, batchSize));

    static double MaxDifference(float[][] a, float[][] b) => a.Zip(b, (x, y) => x.Zip(y, (p, q) => Math.Abs(p - q)).Max()).Max();

    [Fact]
    public void Batched_vectors_equal_one_sentence_at_a_time()
    {
        var batched = LanguageVectorComputer.Compute(Demo, French, batchSize: 4);
        var single = LanguageVectorComputer.Compute(Demo, French, batchSize: 1);
        Assert.Equal(Demo.Model.LayerCount + 1, batched.Length);
        Assert.True(MaxDifference(batched, single) < 1e-6, $"max difference {MaxDifference(batched, single)}");
    }

    [Fact]
    public void The_vector_is_the_mean_of_sentence_means_not_of_all_tokens()
    {
        // Two sentences of very different lengths: a token-weighted mean would differ from the paper's.
        string[] sentences = ["Paris", "the capital of France is Paris and the capital of Spain is Madrid ."];
        var both = LanguageVectorComputer.Compute(Demo, sentences);
        var first = LanguageVectorComputer.Compute(Demo, sentences[..1]);
        var second = LanguageVectorComputer.Compute(Demo, sentences[1..]);
        var expected = first.Zip(second, (a, b) => a.Zip(b, (x, y) => (x + y) / 2).ToArray()).ToArray();
        Assert.True(MaxDifference(both, expected) < 1e-6);
    }

    [Fact]
    public void After_lirp_the_layer_mean_of_the_corpus_equals_the_english_vector()
    {
        var en = Vectors("en", English);
        var fr = Vectors("fr", French);
        const int i = 2;
        var lirpOnly = new RowProjection(fr, en, new LayerPair(i, Demo.Model.LayerCount, LayerSource.Request));
        // Mean over the French corpus of the layer-i state after LIRP, computed the same way as a vector.
        using var sums = torch.zeros(Demo.Model.HiddenSize, ScalarType.Float64);
        foreach (var sentence in French)
        {
            using var scope = torch.NewDisposeScope();
            var ids = Demo.Tokenizer.Encode(sentence);
            var (input, attention) = Batches.Pad([ids], Demo.Tokenizer.PadId, torch.CPU);
            var project = Lrp2Intervention.Create([lirpOnly], torch.CPU)!;
            Demo.Model.Encode(input, attention, (k, h) =>
            {
                h = project(k, h);
                if (k == i) sums.add_(h[0].to(ScalarType.Float64).mean([0]));
                return h;
            });
        }
        var mean = (sums / French.Length).to(ScalarType.Float32).data<float>().ToArray();
        Assert.True(mean.Zip(en.Layers[i], (a, b) => Math.Abs(a - b)).Max() < 1e-5);
    }

    [Fact]
    public void Projecting_with_english_vectors_as_the_language_changes_nothing()
    {
        var en = Vectors("en", English);
        var engine = new FillMaskEngine(Demo, new FillMaskOptions());
        var query = engine.Prepare(new FillMaskQuery("Paris is the capital of [MASK].", TopK: 10));
        var plain = engine.Run([query])[0];
        var projected = engine.Run([query with { Projection = new RowProjection(en, en, new LayerPair(1, 3, LayerSource.Request)) }])[0];
        Assert.Equal(plain.Masks[0].Predictions.Select(p => p.Token), projected.Masks[0].Predictions.Select(p => p.Token));
        Assert.All(plain.Masks[0].Predictions.Zip(projected.Masks[0].Predictions), p => Assert.Equal(p.First.Score, p.Second.Score, 1e-7));
    }

    [Fact]
    public void A_batch_with_different_projections_per_row_equals_single_runs()
    {
        var en = Vectors("en", English);
        var fr = Vectors("fr", French);
        var engine = new FillMaskEngine(Demo, new FillMaskOptions());
        var queries = new[]
        {
            engine.Prepare(new FillMaskQuery("Paris est la capitale de la [MASK].", TopK: 8)) with { Projection = new RowProjection(fr, en, new LayerPair(1, 3, LayerSource.Request)) },
            engine.Prepare(new FillMaskQuery("Paris is the capital of [MASK].", TopK: 8)),
            engine.Prepare(new FillMaskQuery("[MASK] est une ville.", TopK: 8)) with { Projection = new RowProjection(fr, en, new LayerPair(2, 4, LayerSource.Request)) },
        };
        var batched = engine.Run(queries);
        for (int q = 0; q < queries.Length; q++)
        {
            var single = engine.Run([queries[q]])[0].Masks[0].Predictions;
            Assert.Equal(single.Select(p => p.Token), batched[q].Masks[0].Predictions.Select(p => p.Token));
            Assert.All(single.Zip(batched[q].Masks[0].Predictions), p => Assert.Equal(p.First.Score, p.Second.Score, 1e-6));
        }
        // and the projection really changed the French rows
        var unprojected = engine.Run([queries[0] with { Projection = null }])[0].Masks[0].Predictions;
        Assert.NotEqual(unprojected.Select(p => p.Score), batched[0].Masks[0].Predictions.Select(p => p.Score));
    }
}
