using Service.Api.Commands;

namespace Service.Tests.Api.Commands;

/// <summary>Runs `lrp2 ...` in process, as Program.cs does, and keeps what it printed.</summary>
sealed record Lrp2Run(int ExitCode, string Output, string Error)
{
    public static async Task<Lrp2Run> RunAsync(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = await Lrp2Command.RunAsync(["lrp2", .. args], output, error);
        return new Lrp2Run(code, output.ToString(), error.ToString());
    }

    public Lrp2Run Succeeded()
    {
        Assert.True(ExitCode == 0, $"exit code {ExitCode}: {Error}");
        return this;
    }
}
