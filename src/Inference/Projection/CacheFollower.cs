using Microsoft.Extensions.Logging;

namespace Service.Inference.Projection;

/// <summary>
/// Notices writes by other replicas to a shared cache directory: a file watcher reports changed
/// `*.lrp2` files as they happen, and a periodic re-scan catches what watchers miss (network volumes
/// often send no events, and the inotify instances of a machine run out). Both only call back; what
/// a change means is the <see cref="ProjectionService"/>'s business. Callbacks run on watcher and
/// timer threads, where an exception would end the process, so every one is caught and logged.
/// </summary>
sealed class CacheFollower : IDisposable
{
    const string Extension = ".lrp2";

    readonly ILogger _log;
    readonly FileSystemWatcher? _watcher;
    readonly Timer _rescan;

    public CacheFollower(string directory, TimeSpan period, bool watch, Action<string> languageChanged, Action rescan, ILogger log)
    {
        _log = log;
        _rescan = new Timer(_ => Safely(rescan), null, period, period);
        if (watch) _watcher = Watch(directory, period, languageChanged);
    }

    FileSystemWatcher? Watch(string directory, TimeSpan period, Action<string> languageChanged)
    {
        void Changed(string? name)
        {
            if (name is not null && name.EndsWith(Extension, StringComparison.Ordinal)) Safely(() => languageChanged(name[..^Extension.Length]));
        }
        try
        {
            Directory.CreateDirectory(directory);
            var watcher = new FileSystemWatcher(directory) { IncludeSubdirectories = false };
            watcher.Changed += (_, e) => Changed(e.Name);
            watcher.Created += (_, e) => Changed(e.Name);
            watcher.Deleted += (_, e) => Changed(e.Name);
            watcher.Renamed += (_, e) => Changed(e.Name); // a write ends with the rename of its temporary file
            watcher.Error += (_, e) => _log.LogWarning("Watching the language-vector cache failed ({Reason}); the periodic re-scan continues", e.GetException().Message);
            watcher.EnableRaisingEvents = true;
            return watcher;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or PlatformNotSupportedException)
        {
            _log.LogWarning("The language-vector cache {Directory} is not watched ({Reason}); a re-scan every {Seconds} s notices other writers",
                directory, e.Message, period.TotalSeconds);
            return null;
        }
    }

    void Safely(Action action)
    {
        try
        {
            action();
        }
        catch (Exception e)
        {
            _log.LogError(e, "Following changes of the language-vector cache failed");
        }
    }

    public void Dispose()
    {
        _watcher?.Dispose();
        _rescan.Dispose();
    }
}
