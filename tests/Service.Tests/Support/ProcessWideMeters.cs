namespace Service.Tests.Support;

/// <summary>
/// Tests that listen to a process-wide System.Diagnostics.Metrics meter and expect only their own
/// measurements: they run alone, after the parallel tests, since any other test's generation would
/// be heard too.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProcessWideMeters
{
    public const string Name = "Process-wide meters";
}
