using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Service.Inference.Hosting;

namespace Service.Inference.Projection;

/// <summary>Language-vector computations as host work that runs in turns, so chat and fill-mask interleave.</summary>
public static class LanguageVectorJobs
{
    /// <summary>
    /// Computes and stores a language's vectors, one batch of sentences per turn on the model thread.
    /// The token is checked before every turn and once more under the store's lock before anything is
    /// written: a cancelled or timed-out computation changes nothing. Throws as
    /// <see cref="ModelHost.RunAsync{T}"/> does when the first turn cannot be queued.
    /// </summary>
    public static Task<LanguageVectors> ComputeAsync(ModelHost host, string language, IReadOnlyList<string> sentences,
        CancellationToken cancellation = default)
    {
        var result = new TaskCompletionSource<LanguageVectors>(TaskCreationOptions.RunContinuationsAsynchronously);
        LanguageVectorRun? run = null;
        var clock = Stopwatch.StartNew();
        host.RunInTurns(models =>
        {
            try
            {
                cancellation.ThrowIfCancellationRequested();
                if (run is null)
                {
                    models.Projection.EnsureRoomFor(language); // refuse before computing, not after
                    run = new LanguageVectorRun(models.Probed, sentences);
                }
                if (run.Step()) return true;
                var vectors = models.Projection.Store(language, sentences, run.Result(), cancellation);
                models.Projection.Log.LogInformation("Language vectors {Language} computed from {Sentences} sentences in {ElapsedMs} ms",
                    language, sentences.Count, clock.ElapsedMilliseconds);
                result.TrySetResult(vectors);
            }
            catch (OperationCanceledException)
            {
                result.TrySetCanceled(cancellation);
            }
            catch (Exception e)
            {
                result.TrySetException(e);
            }
            return false;
        });
        return result.Task;
    }
}
