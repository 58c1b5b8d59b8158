using Service.Inference.Probes;
using Service.Tests.Support;

namespace Service.Tests.Inference.Probes;

public sealed class LayerSearchTests
{
    static PairScore Pair(int i, int j, double? trans, double acc) => new(i, j, new LanguageScores("fr", 10, (int)(acc / 10), acc, trans));

    [Fact]
    public void The_best_pair_has_the_highest_trans_then_acc()
    {
        var scores = new[] { Pair(1, 2, 40, 50), Pair(1, 3, 60, 20), Pair(2, 3, 60, 30), Pair(3, 4, null, 90) };
        Assert.Equal((2, 3), (LayerSearch.Best(scores).Lirp, LayerSearch.Best(scores).Lsrp));
    }

    [Fact]
    public void The_trans_grid_has_one_cell_per_pair_and_none_below_the_diagonal()
    {
        var grid = LayerSearch.TransGrid([Pair(1, 2, 10, 0), Pair(1, 3, 50, 0), Pair(2, 3, 90, 0)], layerCount: 3);
        Assert.Null(grid[1, 0]);                  // i >= j has no value
        Assert.Null(grid[0, 0]);
        Assert.Equal(90, grid[1, 2]);
        Assert.Equal([(1, 2), (1, 3), (2, 3)], LayerSearch.Pairs(3));
    }
}
