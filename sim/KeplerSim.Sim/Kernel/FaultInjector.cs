namespace KeplerSim.Sim.Kernel;

/// <summary>
/// Rates of the random fault process (per node per virtual second, or per cluster per second for partitions).
/// All zero means no injected faults.
/// </summary>
public sealed record ChaosOptions
{
    /// <summary>Crashes per node per second; a crashed node restarts after <see cref="RestartDelayMicroseconds"/>.</summary>
    public double CrashRatePerSecond { get; init; }

    /// <summary>How long a crashed node stays down.</summary>
    public long RestartDelayMicroseconds { get; init; } = 2_000_000;

    /// <summary>Pauses per node per second; a pause lasts up to <see cref="PauseMaxMicroseconds"/>.</summary>
    public double PauseRatePerSecond { get; init; }

    /// <summary>Longest pause.</summary>
    public long PauseMaxMicroseconds { get; init; } = 3_000_000;

    /// <summary>Partitions per second (cluster-wide); each heals after up to <see cref="PartitionMaxMicroseconds"/>.</summary>
    public double PartitionRatePerSecond { get; init; }

    /// <summary>Longest partition.</summary>
    public long PartitionMaxMicroseconds { get; init; } = 5_000_000;

    /// <summary>Clock jumps per node per second, each up to ±<see cref="ClockJumpMaxMicroseconds"/>.</summary>
    public double ClockJumpRatePerSecond { get; init; }

    /// <summary>Largest clock jump.</summary>
    public long ClockJumpMaxMicroseconds { get; init; } = 2_000_000;

    /// <summary>At-rest corruptions (one bit of one random file) per node per second.</summary>
    public double CorruptionRatePerSecond { get; init; }

    /// <summary>Whether any fault is on.</summary>
    public bool Any => CrashRatePerSecond > 0 || PauseRatePerSecond > 0 || PartitionRatePerSecond > 0
        || ClockJumpRatePerSecond > 0 || CorruptionRatePerSecond > 0;
}

/// <summary>
/// The seeded fault process: every tick it may crash, pause, partition, jump clocks or corrupt files, and it
/// undoes crashes, pauses and partitions after a while. <see cref="Stop"/> heals everything (the liveness phase).
/// </summary>
public sealed class FaultInjector
{
    private const long TickMicroseconds = 100_000;
    private readonly Simulation _sim;
    private readonly ChaosOptions _options;
    private bool _stopped;
    private long _partitionEndsAt = -1;

    /// <summary>Starts injecting faults into <paramref name="sim"/> from now on.</summary>
    public FaultInjector(Simulation sim, ChaosOptions options)
    {
        _sim = sim;
        _options = options;
        if (options.Any)
        {
            sim.Schedule(TickMicroseconds, Tick);
        }
    }

    /// <summary>Faults injected so far, by kind.</summary>
    public SortedDictionary<string, int> Counts { get; } = new(StringComparer.Ordinal);

    /// <summary>Stops injecting; restarts crashed nodes, resumes paused ones and heals partitions.</summary>
    public void Stop()
    {
        _stopped = true;
        _sim.Network.Heal();
        foreach (var node in _sim.Nodes)
        {
            if (node.State == SimNodeState.Paused)
            {
                node.Resume();
            }
            else if (node.State == SimNodeState.Down && node.Epoch > 0)
            {
                node.Start();
            }
        }
    }

    private void Tick()
    {
        if (_stopped)
        {
            return;
        }

        var perTick = TickMicroseconds / 1_000_000.0;
        var random = _sim.Random;
        foreach (var node in _sim.Nodes)
        {
            if (node.State == SimNodeState.Running && random.Chance(_options.CrashRatePerSecond * perTick))
            {
                Count("crash");
                node.Crash();
                _sim.Schedule(random.NextLong(1, _options.RestartDelayMicroseconds + 1), () => RestartIfDown(node));
            }
            else if (node.State == SimNodeState.Running && random.Chance(_options.PauseRatePerSecond * perTick))
            {
                Count("pause");
                node.Pause();
                _sim.Schedule(random.NextLong(1, _options.PauseMaxMicroseconds + 1), node.Resume);
            }

            if (random.Chance(_options.ClockJumpRatePerSecond * perTick))
            {
                Count("clock-jump");
                node.Clock.Jump(random.NextLong(-_options.ClockJumpMaxMicroseconds, _options.ClockJumpMaxMicroseconds + 1));
            }

            if (random.Chance(_options.CorruptionRatePerSecond * perTick))
            {
                var files = node.Disk.AllFiles();
                if (files.Count > 0 && node.Disk.Corrupt(files[random.NextInt(files.Count)]))
                {
                    Count("corruption");
                }
            }
        }

        MaybePartition(random, perTick);
        _sim.Schedule(TickMicroseconds, Tick);
    }

    private void MaybePartition(Core.Runtime.IRandom random, double perTick)
    {
        if (_partitionEndsAt >= 0 && _sim.Now >= _partitionEndsAt)
        {
            _sim.Network.Heal();
            _partitionEndsAt = -1;
        }

        if (_partitionEndsAt >= 0 || _sim.Nodes.Count < 2 || !random.Chance(_options.PartitionRatePerSecond * perTick))
        {
            return;
        }

        var side = new List<SimNode>();
        var other = new List<SimNode>();
        foreach (var node in _sim.Nodes)
        {
            (random.Chance(0.5) ? side : other).Add(node);
        }

        if (side.Count == 0 || other.Count == 0)
        {
            return;
        }

        var oneWay = random.Chance(0.25);
        Count(oneWay ? "partition-one-way" : "partition");
        _sim.Network.Partition(side, other, oneWay);
        _partitionEndsAt = _sim.Now + random.NextLong(1, _options.PartitionMaxMicroseconds + 1);
    }

    private void RestartIfDown(SimNode node)
    {
        if (!_stopped && node.State == SimNodeState.Down)
        {
            node.Start();
        }
    }

    private void Count(string kind)
    {
        Counts.TryGetValue(kind, out var count);
        Counts[kind] = count + 1;
    }
}
