using KeplerSim.Core.Runtime;

namespace KeplerSim.Core.Membership;

/// <summary>
/// Lifeguard's dynamic suspicion timeout (memberlist suspicion.go): it starts at <c>max</c> and shrinks towards
/// <c>min</c> as independent members confirm the suspicion:
/// <c>timeout = max(min, max - (max - min) · log(c + 1) / log(k + 1))</c> for c of k expected confirmations.
/// </summary>
internal sealed class Suspicion
{
    private readonly IClock _clock;
    private readonly SortedSet<NodeId> _confirmedBy = [];
    private readonly int _expected;
    private readonly long _minMicroseconds;
    private readonly long _maxMicroseconds;
    private readonly long _startMicroseconds;
    private readonly Action _timeout;
    private IDisposable? _timer;

    public Suspicion(IClock clock, NodeId from, int expected, long minMicroseconds, long maxMicroseconds,
        Action timeout)
    {
        Invariant.That(minMicroseconds > 0, "suspicion min must be positive");
        Invariant.That(maxMicroseconds >= minMicroseconds, "suspicion max must be >= min");
        _clock = clock;
        _expected = Math.Max(0, expected);
        _minMicroseconds = minMicroseconds;
        _maxMicroseconds = maxMicroseconds;
        _startMicroseconds = clock.MonotonicMicroseconds;
        _timeout = timeout;
        _confirmedBy.Add(from);

        // With no confirmations to expect, waiting longer would only delay detection.
        Schedule(_expected < 1 ? _minMicroseconds : _maxMicroseconds);
    }

    /// <summary>Independent confirmations so far (the first suspecter does not count).</summary>
    public int Confirmations => _confirmedBy.Count - 1;

    /// <summary>The current timeout measured from the start of the suspicion.</summary>
    public long TimeoutMicroseconds => TimeoutFor(Confirmations, _expected, _minMicroseconds, _maxMicroseconds);

    /// <summary>Counts a confirmation from <paramref name="from"/>; false if it was not new or not needed.</summary>
    public bool Confirm(NodeId from)
    {
        if (Confirmations >= _expected || !_confirmedBy.Add(from))
        {
            return false;
        }

        Schedule(TimeoutMicroseconds);
        return true;
    }

    /// <summary>Stops the timer (the member refuted or was declared dead otherwise).</summary>
    public void Cancel()
    {
        _timer?.Dispose();
        _timer = null;
    }

    /// <summary>The timeout after <paramref name="confirmations"/> of <paramref name="expected"/>.</summary>
    public static long TimeoutFor(int confirmations, int expected, long minMicroseconds, long maxMicroseconds)
    {
        if (expected < 1)
        {
            return minMicroseconds;
        }

        var fraction = Math.Log(confirmations + 1.0) / Math.Log(expected + 1.0);
        var raw = maxMicroseconds - (long)Math.Floor(fraction * (maxMicroseconds - minMicroseconds));
        return Math.Max(minMicroseconds, raw);
    }

    private void Schedule(long timeoutMicroseconds)
    {
        _timer?.Dispose();
        var elapsed = _clock.MonotonicMicroseconds - _startMicroseconds;
        _timer = _clock.Schedule(Math.Max(0, timeoutMicroseconds - elapsed), () =>
        {
            _timer = null;
            _timeout();
        });
    }
}
