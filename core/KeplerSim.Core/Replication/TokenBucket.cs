using KeplerSim.Core.Runtime;

namespace KeplerSim.Core.Replication;

/// <summary>
/// A bandwidth cap as a token bucket in its virtual-scheduling form (GCRA): each reservation of n bytes moves a
/// theoretical arrival time forward by n / rate; a caller waits until that time is within one burst of now.
/// Callers are served in the order they ask, on the node's logical thread.
/// </summary>
public sealed class TokenBucket
{
    private readonly IClock _clock;
    private readonly double _microsecondsPerByte;
    private readonly long _burstMicroseconds;
    private double _theoreticalArrival;

    /// <summary>A bucket refilling at <paramref name="bytesPerSecond"/>, holding one second's worth at most.</summary>
    public TokenBucket(IClock clock, long bytesPerSecond, long burstMicroseconds = 1_000_000)
    {
        ArgumentNullException.ThrowIfNull(clock);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bytesPerSecond);
        _clock = clock;
        _microsecondsPerByte = 1_000_000.0 / bytesPerSecond;
        _burstMicroseconds = burstMicroseconds;
    }

    /// <summary>Bytes granted so far.</summary>
    public long GrantedBytes { get; private set; }

    /// <summary>Waits until <paramref name="bytes"/> may be sent under the cap, then takes them.</summary>
    public Task TakeAsync(long bytes)
    {
        var now = _clock.MonotonicMicroseconds;
        _theoreticalArrival = Math.Max(_theoreticalArrival, now) + bytes * _microsecondsPerByte;
        GrantedBytes += bytes;
        var wait = (long)Math.Ceiling(_theoreticalArrival - now - _burstMicroseconds);
        return wait > 0 ? _clock.DelayAsync(wait) : Task.CompletedTask;
    }
}
