using Service.Inference.Models.Decode;
using TorchSharp;
using static TorchSharp.torch;

namespace Service.Tests.Inference.Models.Decode;

/// <summary>
/// The decode kernel against libtorch's F.linear computed in float64 on the same float32 values,
/// on shapes that are not multiples of the kernel's 8 lanes or 4 output rows, 1 to 8 activation rows,
/// with and without bias; and the dispatch: prompts and column-major weights stay libtorch's (half precision: HalfPrecisionDecodeTests).
/// </summary>
public sealed class DecodeProjectionTests
{
    public static TheoryData<int, int, int, bool> Shapes()
    {
        var data = new TheoryData<int, int, int, bool>();
        foreach (var (inFeatures, outFeatures) in new[] { (1, 1), (7, 5), (13, 3), (37, 29), (64, 130), (100, 257), (896, 128), (9, 1001) })
            foreach (int rows in new[] { 1, 2, 3, 5, 8 })
                foreach (bool bias in new[] { false, true })
                    data.Add(inFeatures, outFeatures, rows, bias);
        return data;
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Float32_product_matches_float64_linear(int inFeatures, int outFeatures, int rows, bool bias)
    {
        using var scope = torch.NewDisposeScope();
        using var mode = torch.inference_mode();
        var generator = torch.manual_seed(inFeatures * 1000 + outFeatures * 10 + rows);
        var layer = nn.Linear(inFeatures, outFeatures, hasBias: bias);
        var x = torch.randn([rows, 1, inFeatures], generator: generator);

        var y = DecodeProjection.Linear(layer, x);

        var reference = nn.functional.linear(x.to(ScalarType.Float64), layer.weight!.to(ScalarType.Float64), layer.bias?.to(ScalarType.Float64));
        Assert.Equal(new long[] { rows, 1, outFeatures }, y.shape);
        Assert.Equal(ScalarType.Float32, y.dtype);
        // float32 accumulation over `in` terms: bounded by a few ulps of the sum of |w x| per output.
        var scale = nn.functional.linear(x.abs().to(ScalarType.Float64), layer.weight!.abs().to(ScalarType.Float64)) + 1;
        double worst = ((y.to(ScalarType.Float64) - reference).abs() / scale).max().item<double>();
        Assert.True(worst < 1e-6, $"relative error {worst:E2}");
    }

    [Fact]
    public void A_tied_head_weight_is_multiplied_like_linear()
    {
        using var scope = torch.NewDisposeScope();
        var weight = torch.randn(1203, 61, generator: torch.manual_seed(3));
        var hidden = torch.randn(4, 61, generator: torch.manual_seed(4));
        var y = DecodeProjection.Linear(weight, hidden);
        var reference = nn.functional.linear(hidden.to(ScalarType.Float64), weight.to(ScalarType.Float64));
        Assert.True(y.to(ScalarType.Float64).allclose(reference, rtol: 1e-5, atol: 1e-5));
    }

    [Fact]
    public void Prompts_and_column_major_weights_go_to_libtorch_unchanged()
    {
        using var scope = torch.NewDisposeScope();
        var layer = nn.Linear(24, 40);
        var prompt = torch.randn(1, DecodeProjection.MaxRows + 1, 24, generator: torch.manual_seed(5));
        Assert.True(DecodeProjection.Linear(layer, prompt).equal(layer.forward(prompt)).all().item<bool>());

        var columnMajor = torch.randn(24, 40, generator: torch.manual_seed(7)).t(); // [40, 24] seen through a transpose
        var row = torch.randn(1, 24, generator: torch.manual_seed(8));
        Assert.True(DecodeProjection.Linear(columnMajor, row).equal(nn.functional.linear(row, columnMajor)).all().item<bool>());
    }
}
