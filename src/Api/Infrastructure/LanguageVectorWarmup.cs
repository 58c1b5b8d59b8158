using Microsoft.Extensions.Options;
using Service.Inference;
using Service.Inference.Hosting;
using Service.Inference.Projection;

namespace Service.Api.Infrastructure;

/// <summary>
/// After the model is ready, computes vectors from the bundled corpora for each configured language
/// that has none cached (English first: every projection needs it). Runs as ordinary host jobs in
/// turns, so requests keep being served meanwhile; readiness does not wait for it. A language that
/// fails (an unwritable or full cache, a bad corpus) is logged and skipped: an exception escaping a
/// BackgroundService would stop the whole host.
/// </summary>
sealed class LanguageVectorWarmup(ModelHost host, IOptions<ProjectionOptions> options, ILogger<LanguageVectorWarmup> log) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stopping)
    {
        try
        {
            await host.Loaded.WaitAsync(stopping);
            if (host.State != HostState.Ready || !options.Value.WarmUp) return;
            var configured = options.Value.Languages.Length > 0 ? options.Value.Languages : BundledCorpora.Languages;
            foreach (var language in new[] { LanguageCodes.English }.Concat(configured).Distinct(StringComparer.OrdinalIgnoreCase))
                await WarmUp(language, stopping);
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // shutting down: the rest of the warm-up is not needed
        }
    }

    async Task WarmUp(string configured, CancellationToken stopping)
    {
        try
        {
            var language = LanguageCodes.Normalize(configured, "Projection:Languages");
            if (host.Models.Projection.Get(language) is not null) return;
            var corpus = BundledCorpora.Sentences(language);
            if (corpus is null)
            {
                log.LogWarning("No bundled corpus for {Language}; compute its vectors with PUT /v1/language-vectors/{Language}", language, language);
                return;
            }
            while (true)
            {
                try
                {
                    await LanguageVectorJobs.ComputeAsync(host, language, corpus, stopping);
                    return;
                }
                catch (InferenceException e) when (e.Kind == InferenceErrorKind.Overloaded)
                {
                    await Task.Delay(TimeSpan.FromSeconds(1), stopping); // the queue is full of user requests: they go first
                }
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception e)
        {
            log.LogError("Warm-up of language vectors {Language} failed and is skipped; the service keeps running: {Reason}",
                LogText.Escape(configured), e.Message);
        }
    }
}
