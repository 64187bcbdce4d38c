using System.Diagnostics;

namespace KeplerSim.Node.Runtime;

/// <summary>
/// A test-only offset on a node's clock (KEPLER_TEST_FAULTS, docs/NODE.md), so that a scenario file's <c>clock</c>
/// steps can run against a real process (<c>kepler-sim run FILE --real</c>) as the simulator's <c>SimClock</c> runs
/// them: skew and jumps move the wall clock; drift changes the rate of both clocks and of timers. The monotonic
/// clock never goes backwards: a drift change re-anchors it where it stands. Never used in production.
/// </summary>
public sealed class TestClock
{
    /// <summary>Largest skew or jump, in microseconds (about 100 years).</summary>
    public const long OffsetMicrosecondsMax = 3_155_760_000_000_000;

    /// <summary>Largest drift either way, in parts per million (10 %).</summary>
    public const double DriftPpmMax = 100_000;

    private readonly Lock _gate = new();
    private readonly long _origin = Stopwatch.GetTimestamp();
    private long _skewMicroseconds;
    private double _rate = 1;
    private long _anchorRawMicroseconds;
    private long _anchorMicroseconds;

    /// <summary>A clock offset by <paramref name="skewMicroseconds"/> and drifting by <paramref name="driftPpm"/>.
    /// </summary>
    public TestClock(long skewMicroseconds = 0, double driftPpm = 0) => Set(skewMicroseconds, driftPpm);

    /// <summary>The wall clock's offset from the host's, skew and jumps (drift accumulates apart).</summary>
    public long SkewMicroseconds
    {
        get
        {
            lock (_gate)
            {
                return _skewMicroseconds;
            }
        }
    }

    /// <summary>Rate error in parts per million: positive runs fast.</summary>
    public double DriftPpm
    {
        get
        {
            lock (_gate)
            {
                return (_rate - 1) * 1_000_000;
            }
        }
    }

    private long RawMicroseconds => (long)((Stopwatch.GetTimestamp() - _origin) * (1_000_000.0 / Stopwatch.Frequency));

    /// <summary>Monotonic microseconds since the clock was made, at the drifted rate.</summary>
    public long MonotonicMicroseconds
    {
        get
        {
            lock (_gate)
            {
                return Scaled(RawMicroseconds);
            }
        }
    }

    /// <summary>The wall clock: the host's plus skew, jumps and the drift accumulated so far.</summary>
    public long Wall(long hostWallMicroseconds)
    {
        lock (_gate)
        {
            var raw = RawMicroseconds;
            return hostWallMicroseconds + _skewMicroseconds + (Scaled(raw) - raw);
        }
    }

    /// <summary>How long the host waits for a timer of <paramref name="delayMicroseconds"/> on this clock.</summary>
    public long HostDelay(long delayMicroseconds)
    {
        lock (_gate)
        {
            return (long)Math.Ceiling(Math.Max(0, delayMicroseconds) / _rate);
        }
    }

    /// <summary>Sets skew and drift outright (a scenario's <c>clock</c> step with <c>skew</c>/<c>drift_ppm</c>).
    /// </summary>
    public void Set(long skewMicroseconds, double driftPpm)
    {
        Check(skewMicroseconds, driftPpm);
        lock (_gate)
        {
            var raw = RawMicroseconds;
            _anchorMicroseconds = Scaled(raw);
            _anchorRawMicroseconds = raw;
            _rate = 1 + driftPpm / 1_000_000;
            _skewMicroseconds = skewMicroseconds;
        }
    }

    /// <summary>Moves the wall clock by <paramref name="deltaMicroseconds"/> (an NTP step, a VM resume).</summary>
    public void Jump(long deltaMicroseconds)
    {
        Check(deltaMicroseconds, 0); // Bounded first, so the sum below cannot overflow.
        lock (_gate)
        {
            var skew = _skewMicroseconds + deltaMicroseconds;
            Check(skew, 0);
            _skewMicroseconds = skew;
        }
    }

    /// <summary>Throws saying which value is out of range.</summary>
    public static void Check(long skewMicroseconds, double driftPpm)
    {
        if (Math.Abs((double)skewMicroseconds) > OffsetMicrosecondsMax)
        {
            throw new ArgumentOutOfRangeException(nameof(skewMicroseconds), skewMicroseconds,
                $"the clock's offset must stay within ±{OffsetMicrosecondsMax} µs");
        }

        if (!double.IsFinite(driftPpm) || Math.Abs(driftPpm) > DriftPpmMax)
        {
            throw new ArgumentOutOfRangeException(nameof(driftPpm), driftPpm,
                $"drift must be within ±{DriftPpmMax} ppm");
        }
    }

    private long Scaled(long raw) => _anchorMicroseconds + (long)((raw - _anchorRawMicroseconds) * _rate);
}
