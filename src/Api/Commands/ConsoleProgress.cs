namespace Service.Api.Commands;

/// <summary>A one-line progress bar on stderr (stdout stays clean for the report).</summary>
sealed class ConsoleProgress(TextWriter error, string label) : IProgress<(int Done, int Total)>
{
    const int Width = 30;

    public void Report((int Done, int Total) value)
    {
        int filled = value.Total == 0 ? Width : Width * value.Done / value.Total;
        error.Write($"\r{label} [{new string('#', filled)}{new string('.', Width - filled)}] {value.Done}/{value.Total}");
        if (value.Done >= value.Total) error.WriteLine();
    }
}
