using System.Text.RegularExpressions;

namespace Service.Tests.Deployment;

/// <summary>What can be checked of the Dockerfile without a Docker engine: its text and the files it copies.</summary>
public sealed class DockerfileTests
{
    // Instructions with their continuation lines joined, comments dropped.
    static readonly string[] Instructions = Regex
        .Replace(string.Join('\n', File.ReadLines(Repository.File("Dockerfile")).Where(l => !l.TrimStart().StartsWith('#'))), @"\\\n", " ")
        .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    static IEnumerable<string> All(string keyword) => Instructions.Where(i => i.StartsWith(keyword + " ", StringComparison.Ordinal));

    [Fact]
    public void The_backend_argument_defaults_to_cuda_and_picks_the_runtime_stage()
    {
        Assert.Equal("ARG TORCH_BACKEND=cuda", All("ARG").First());
        Assert.Contains(All("FROM"), f => f.StartsWith("FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS runtime-cpu"));
        Assert.Contains(All("FROM"), f => Regex.IsMatch(f, @"^FROM nvidia/cuda:12\.\d+\.\d+-runtime-ubuntu24\.04 AS runtime-cuda$"));
        Assert.Equal("FROM runtime-${TORCH_BACKEND} AS final", All("FROM").Last());
        Assert.Contains(All("RUN"), r => r.Contains("dotnet publish") && r.Contains("-p:TorchBackend=$TORCH_BACKEND"));
    }

    [Fact]
    public void The_final_image_runs_as_a_non_root_user_serves_8080_and_probes_readiness()
    {
        var final = Instructions.SkipWhile(i => !i.StartsWith("FROM runtime-${TORCH_BACKEND}")).ToList();
        var user = Assert.Single(final, i => i.StartsWith("USER "));
        Assert.DoesNotMatch(@"^USER (root|0)(:|$)", user);
        Assert.Contains("EXPOSE 8080", final);
        Assert.Contains(final, i => i.StartsWith("ENV ASPNETCORE_URLS=http://+:8080"));
        Assert.Contains(final, i => i.StartsWith("HEALTHCHECK ") && i.Contains("http://127.0.0.1:8080/health/ready"));
        Assert.Contains("VOLUME /var/cache/lrp2", final);
    }

    [Fact]
    public void Every_file_the_build_copies_exists_and_is_in_the_build_context()
    {
        // .dockerignore excludes everything ("*") and lets entries back in with "!".
        var allowed = File.ReadLines(Repository.File(".dockerignore"))
            .Where(l => l.StartsWith('!')).Select(l => l[1..].TrimEnd('/')).ToHashSet();
        var sources = All("COPY").Where(c => !c.Contains("--from="))
            .SelectMany(c => c.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1..^1]).ToList();
        Assert.NotEmpty(sources);
        foreach (var source in sources)
        {
            var path = Repository.File(source);
            Assert.True(File.Exists(path) || Directory.Exists(path), $"COPY {source}: no such file in the repository");
            Assert.True(allowed.Contains(source.TrimEnd('/')) || allowed.Contains(source.Split('/')[0]), $"COPY {source}: excluded by .dockerignore");
        }
    }
}
