namespace Service.Inference.Hosting;

public static class Cancellation
{
    /// <summary>
    /// Cancels the awaited result as soon as the caller's token fires (client gone, deadline passed),
    /// even while the work waits in a queue or runs on the host thread; the host skips work whose
    /// token has fired and a generation stops at its next step, so nothing is computed for nobody.
    /// </summary>
    public static void CancelWith<T>(this TaskCompletionSource<T> result, CancellationToken token)
    {
        if (!token.CanBeCanceled) return;
        var registration = token.Register(() => result.TrySetCanceled(token));
        result.Task.ContinueWith(_ => registration.Dispose(), TaskScheduler.Default);
    }
}
