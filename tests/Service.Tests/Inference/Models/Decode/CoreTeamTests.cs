using Service.Inference.Models.Decode;

namespace Service.Tests.Inference.Models.Decode;

/// <summary>The hand-off: every chunk runs exactly once per job, across back-to-back jobs and concurrent callers.</summary>
public sealed class CoreTeamTests
{
    [Fact]
    public void Every_chunk_of_every_job_runs_exactly_once()
    {
        var team = new CoreTeam(threads: 3);
        var random = new Random(11);
        for (int job = 0; job < 5000; job++)
        {
            int count = random.Next(0, 40);
            var runs = new int[count];
            team.Run(count, c => Interlocked.Increment(ref runs[c]));
            Assert.All(runs, r => Assert.Equal(1, r));
        }
    }

    [Fact]
    public void The_workers_take_part()
    {
        var team = new CoreTeam(threads: 2);
        var threads = new HashSet<int>();
        for (int job = 0; job < 2000 && threads.Count < 2; job++)
            team.Run(64, _ =>
            {
                Thread.SpinWait(2000); // long enough that the caller cannot finish all chunks before the worker claims one
                lock (threads) threads.Add(Environment.CurrentManagedThreadId);
            });
        Assert.Equal(2, threads.Count);
    }

    [Fact]
    public async Task A_second_caller_runs_its_job_alone_meanwhile()
    {
        var team = new CoreTeam(threads: 2);
        var totals = new int[4];
        await Task.WhenAll(Enumerable.Range(0, 4).Select(i => Task.Run(() =>
        {
            for (int job = 0; job < 500; job++) team.Run(16, _ => Interlocked.Increment(ref totals[i]));
        })));
        Assert.All(totals, t => Assert.Equal(500 * 16, t));
    }
}
