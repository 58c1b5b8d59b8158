namespace Service.Tests.Api.Commands;

public sealed class Lrp2CommandTests
{
    static string MlamaMini => Path.Combine(AppContext.BaseDirectory, "Fixtures", "mlama-mini");

    static void OneLineWithout(string error, string mustMention)
    {
        var lines = error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1, error);
        Assert.StartsWith("lrp2: ", lines[0]);
        Assert.Contains(mustMention, lines[0]);
        Assert.DoesNotContain("   at ", error);   // no stack trace
    }

    [Fact]
    public async Task A_word_where_a_layer_number_belongs_is_one_line_and_exit_code_2()
    {
        var run = await Lrp2Run.RunAsync("evaluate", "--mlama", MlamaMini, "--languages", "en,fr", "--lirp", "six", "--lsrp", "7");
        Assert.Equal(2, run.ExitCode);
        OneLineWithout(run.Error, "--lirp takes a whole number, not 'six'");
        Assert.Equal("", run.Output);
    }

    [Theory]
    [InlineData("--shard", "3", "--shards", "2", "--shard must be in 0..1")]
    [InlineData("--shard", "0", "--languages", "en", "--shard and --shards go together")]
    [InlineData("--lirp", "2", "--languages", "en", "--lirp and --lsrp go together")]
    [InlineData("--languages", "en", "--frobnicate", "1", "--frobnicate")]
    public async Task Inconsistent_options_are_usage_errors(string a, string b, string c, string d, string message)
    {
        var run = await Lrp2Run.RunAsync("evaluate", "--mlama", MlamaMini, a, b, c, d);
        Assert.Equal(2, run.ExitCode);
        OneLineWithout(run.Error, message);
    }

    [Fact]
    public async Task Missing_required_options_and_verbs_are_usage_errors()
    {
        var run = await Lrp2Run.RunAsync("evaluate", "--mlama", MlamaMini);
        Assert.Equal(2, run.ExitCode);
        OneLineWithout(run.Error, "--languages");
        Assert.Equal(2, (await Lrp2Run.RunAsync()).ExitCode);
        Assert.Equal(2, (await Lrp2Run.RunAsync("evaluate", "--mlama", "/no/such/dir", "--languages", "en")).ExitCode);
    }

    [Fact]
    public async Task Help_lists_every_verb_and_the_shard_options()
    {
        var top = (await Lrp2Run.RunAsync("--help")).Succeeded();
        foreach (var verb in new[] { "vectors", "evaluate", "layer-search", "merge" }) Assert.Contains(verb, top.Output);
        var evaluate = (await Lrp2Run.RunAsync("evaluate", "--help")).Succeeded();
        foreach (var option in new[] { "--model", "--cache", "--mlama", "--languages", "--lirp", "--shard", "--shards", "--out" }) Assert.Contains(option, evaluate.Output);
    }

    [Fact]
    public async Task A_model_directory_that_does_not_load_is_one_line_and_exit_code_1()
    {
        var empty = Directory.CreateTempSubdirectory("no-model-").FullName;
        var run = await Lrp2Run.RunAsync("evaluate", "--model", empty, "--cache", empty, "--mlama", MlamaMini, "--languages", "en");
        Assert.Equal(1, run.ExitCode);
        var last = run.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1];
        Assert.StartsWith("lrp2: the model failed to load", last);
        Assert.DoesNotContain("   at ", run.Error);
    }

    [Fact]
    public async Task Merge_refuses_an_incomplete_set_of_shards()
    {
        var run = await Lrp2Run.RunAsync("merge", Directory.CreateTempSubdirectory("no-parts-").FullName);
        Assert.Equal(1, run.ExitCode);
        OneLineWithout(run.Error, "no part-K-of-N.json files");
    }
}
