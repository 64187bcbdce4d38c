using KeplerSim.Core.Runtime;

namespace KeplerSim.Sim.Kernel;

/// <summary>
/// A node's clock: virtual time seen through the node's drift, plus skew and jumps on the wall clock. Timers
/// run in monotonic time, so a wall-clock jump does not fire them early.
/// </summary>
public sealed class SimClock : IClock
{
    private readonly Simulation _sim;
    private readonly SimNode _node;

    internal SimClock(Simulation sim, SimNode node)
    {
        _sim = sim;
        _node = node;
        (SkewMicroseconds, DriftPpm) = Initial(sim.Options.Seed, sim.Options.Clock, node.Name);
    }

    /// <summary>A node's skew and drift at start under the clock profile <paramref name="faults"/>, drawn from the
    /// run's seed (real mode gives a real node the same, KEPLER_TEST_FAULTS).</summary>
    public static (long SkewMicroseconds, double DriftPpm) Initial(ulong seed, ClockFaults faults, string node)
    {
        ArgumentNullException.ThrowIfNull(faults);
        var random = new DeterministicRandom(DeterministicRandom.Derive(seed, "clock/" + node));
        var skew = faults.SkewMaxMicroseconds == 0
            ? 0
            : random.NextLong(-faults.SkewMaxMicroseconds, faults.SkewMaxMicroseconds + 1);
        return (skew, faults.DriftMaxPpm == 0 ? 0 : (random.NextDouble() * 2 - 1) * faults.DriftMaxPpm);
    }

    /// <summary>Current wall-clock offset from virtual time (skew plus jumps).</summary>
    public long SkewMicroseconds { get; private set; }

    /// <summary>Rate error in parts per million: positive runs fast.</summary>
    public double DriftPpm { get; private set; }

    private double Rate => 1 + DriftPpm / 1_000_000;

    /// <inheritdoc />
    public long MonotonicMicroseconds => (long)(_sim.Now * Rate);

    /// <inheritdoc />
    public long WallMicroseconds => _sim.Options.StartWallMicroseconds + MonotonicMicroseconds + SkewMicroseconds;

    /// <summary>Moves the wall clock by <paramref name="deltaMicroseconds"/> (NTP step, VM resume).</summary>
    public void Jump(long deltaMicroseconds)
    {
        SkewMicroseconds += deltaMicroseconds;
        _sim.Trace.Record(_sim.Now, _node.Name, TraceKind.ClockJump, null, deltaMicroseconds);
    }

    /// <summary>Sets skew and drift outright (scenario steps).</summary>
    public void Set(long skewMicroseconds, double driftPpm)
    {
        SkewMicroseconds = skewMicroseconds;
        DriftPpm = driftPpm;
        _sim.Trace.Record(_sim.Now, _node.Name, TraceKind.ClockJump, "set", skewMicroseconds, (long)driftPpm);
    }

    /// <inheritdoc />
    public Task DelayAsync(long delayMicroseconds, CancellationToken cancellationToken = default)
    {
        var source = new TaskCompletionSource();
        var timer = Schedule(delayMicroseconds, () => source.TrySetResult());
        if (cancellationToken.CanBeCanceled)
        {
            cancellationToken.Register(() =>
            {
                timer.Dispose();
                source.TrySetCanceled(cancellationToken);
            });
        }

        return source.Task;
    }

    /// <inheritdoc />
    public IDisposable Schedule(long delayMicroseconds, Action callback)
    {
        _sim.AssertRunning(_node);
        var timer = new SimTimer();
        var globalDelay = (long)Math.Ceiling(Math.Max(0, delayMicroseconds) / Rate);
        var node = _node;
        var sim = _sim;
        sim.Enqueue(sim.Now + globalDelay, node, node.Epoch, () =>
        {
            if (timer.Cancelled)
            {
                return;
            }

            sim.Trace.Record(sim.Now, node.Name, TraceKind.TimerFired, null, delayMicroseconds);
            callback();
        });
        return timer;
    }

    private sealed class SimTimer : IDisposable
    {
        public bool Cancelled { get; private set; }

        public void Dispose() => Cancelled = true;
    }
}
