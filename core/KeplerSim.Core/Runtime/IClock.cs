namespace KeplerSim.Core.Runtime;

/// <summary>
/// The node's local clock. Monotonic time drives timeouts and timers; wall time (which may be skewed or jump)
/// feeds hybrid logical clocks and timestamps. All values are microseconds.
/// </summary>
public interface IClock
{
    /// <summary>Monotonic microseconds since an arbitrary origin; never goes backwards.</summary>
    long MonotonicMicroseconds { get; }

    /// <summary>Wall-clock microseconds since the Unix epoch; may be skewed and may jump.</summary>
    long WallMicroseconds { get; }

    /// <summary>
    /// Completes after <paramref name="delayMicroseconds"/> of monotonic time, on the node's logical thread.
    /// Cancelling completes the task as cancelled.
    /// </summary>
    Task DelayAsync(long delayMicroseconds, CancellationToken cancellationToken = default);

    /// <summary>Runs <paramref name="callback"/> on the node's logical thread after the delay unless disposed.</summary>
    IDisposable Schedule(long delayMicroseconds, Action callback);
}
