using Microsoft.Extensions.Options;
using Service.Inference;
using Service.Inference.Hosting;
using Service.Inference.Projection;

namespace Service.Api.Infrastructure;

/// <summary>
/// After the model is ready, computes vectors from the bundled corpora for each configured language
/// that has none cached (English first: every projection needs it). Runs as ordinary host jobs, so
/// requests keep being served meanwhile; readiness does not wait for it.
/// </summary>
sealed class LanguageVectorWarmup(ModelHost host, IOptions<ProjectionOptions> options, ILogger<LanguageVectorWarmup> log) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stopping)
    {
        await host.Loaded.WaitAsync(stopping);
        if (host.State != HostState.Ready || !options.Value.WarmUp) return;
        var configured = options.Value.Languages.Length > 0 ? options.Value.Languages : BundledCorpora.Languages;
        var languages = new[] { LanguageCodes.English }.Concat(configured.Select(l => LanguageCodes.Normalize(l))).Distinct();
        foreach (var language in languages)
        {
            if (host.Models.Projection.Get(language) is not null) continue;
            var corpus = BundledCorpora.Sentences(language);
            if (corpus is null)
            {
                log.LogWarning("No bundled corpus for {Language}; compute its vectors with PUT /v1/language-vectors/{Language}", language, language);
                continue;
            }
            while (true)
            {
                try
                {
                    await host.RunAsync(models => models.Projection.Compute(language, corpus), stopping);
                    break;
                }
                catch (InferenceException e) when (e.Kind == InferenceErrorKind.Overloaded)
                {
                    await Task.Delay(TimeSpan.FromSeconds(1), stopping); // the queue is full of user requests: they go first
                }
            }
        }
    }
}
