using KeplerSim.Sim.Kernel;

namespace KeplerSim.Sim.Scenarios;

/// <summary>A scenario file: the cluster, its fault profile and how long to run. See docs/SCENARIOS.md.</summary>
public sealed class Scenario
{
    /// <summary>A short name for reports.</summary>
    public string Name { get; set; } = "scenario";

    /// <summary>The default seed (the command line's <c>--seed</c> overrides it).</summary>
    public ulong Seed { get; set; } = 1;

    /// <summary>How long the run lasts in virtual time.</summary>
    public Duration Duration { get; set; } = new(10_000_000);

    /// <summary>The cluster.</summary>
    public ClusterSpec Cluster { get; set; } = new();

    /// <summary>The network fault profile.</summary>
    public NetworkSpec Network { get; set; } = new();

    /// <summary>The disk fault profile.</summary>
    public DiskSpec Disk { get; set; } = new();

    /// <summary>The clock fault profile.</summary>
    public ClockSpec Clock { get; set; } = new();

    /// <summary>The random fault process.</summary>
    public ChaosSpec Chaos { get; set; } = new();

    /// <summary>Checks ranges and cross-field rules; throws <see cref="ScenarioException"/> naming the field.</summary>
    public void Validate(string file)
    {
        if (Duration.Microseconds <= 0)
        {
            throw new ScenarioException($"{file}: duration must be > 0");
        }

        Cluster.Validate(file);
        try
        {
            Network.ToFaults().Validate();
            Disk.ToFaults().Validate();
            Clock.ToFaults().Validate();
        }
        catch (ArgumentException e)
        {
            throw new ScenarioException($"{file}: {e.Message}");
        }
    }
}

/// <summary>Which protocol the nodes run.</summary>
public enum ProtocolKind
{
    /// <summary>The demo ping/ack protocol with disk and stream traffic.</summary>
    Ping,
}

/// <summary>The cluster section.</summary>
public sealed class ClusterSpec
{
    /// <summary>Largest cluster a scenario may ask for.</summary>
    public const int NodesMax = 1000;

    /// <summary>Number of nodes, named n1..nN (ignored when <see cref="Names"/> is given).</summary>
    public int Nodes { get; set; } = 3;

    /// <summary>Explicit node names.</summary>
    public List<string>? Names { get; set; }

    /// <summary>The protocol the nodes run.</summary>
    public ProtocolKind Protocol { get; set; } = ProtocolKind.Ping;

    /// <summary>The node names, in order.</summary>
    public IReadOnlyList<string> NodeNames() =>
        Names is { Count: > 0 } names ? names : Enumerable.Range(1, Nodes).Select(i => $"n{i}").ToList();

    internal void Validate(string file)
    {
        var names = NodeNames();
        if (names.Count is < 1 or > NodesMax)
        {
            throw new ScenarioException($"{file}: cluster.nodes must be 1..{NodesMax}, got {names.Count}");
        }

        if (names.Distinct(StringComparer.Ordinal).Count() != names.Count)
        {
            throw new ScenarioException($"{file}: cluster.names must be distinct");
        }

        foreach (var name in names)
        {
            if (name.Length == 0 || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
            {
                throw new ScenarioException($"{file}: node name '{name}' may use only letters, digits, '-' and '_'");
            }
        }
    }
}

/// <summary>The network section.</summary>
public sealed class NetworkSpec
{
    /// <summary>Smallest one-way latency.</summary>
    public Duration LatencyMin { get; set; } = new(200);

    /// <summary>Largest one-way latency.</summary>
    public Duration LatencyMax { get; set; } = new(2_000);

    /// <summary>Datagram loss probability.</summary>
    public double Loss { get; set; }

    /// <summary>Datagram duplication probability.</summary>
    public double Duplication { get; set; }

    /// <summary>Datagram reordering probability.</summary>
    public double Reorder { get; set; }

    /// <summary>Largest datagram.</summary>
    public int Mtu { get; set; } = 1400;

    /// <summary>Stream bandwidth per connection direction, megabytes per second.</summary>
    public double BandwidthMbps { get; set; } = 125;

    /// <summary>The kernel's fault record.</summary>
    public NetworkFaults ToFaults() => new()
    {
        LatencyMinMicroseconds = LatencyMin.Microseconds,
        LatencyMaxMicroseconds = LatencyMax.Microseconds,
        LossProbability = Loss,
        DuplicationProbability = Duplication,
        ReorderProbability = Reorder,
        MtuBytes = Mtu,
        StreamBandwidthBytesPerSecond = (long)(BandwidthMbps * 1_000_000),
    };
}

/// <summary>The disk section.</summary>
public sealed class DiskSpec
{
    /// <summary>Smallest operation latency.</summary>
    public Duration LatencyMin { get; set; } = new(20);

    /// <summary>Largest operation latency.</summary>
    public Duration LatencyMax { get; set; } = new(200);

    /// <summary>Probability that an operation is slow (50× latency).</summary>
    public double Slow { get; set; }

    /// <summary>Probability that a read fails.</summary>
    public double ReadErrors { get; set; }

    /// <summary>Probability that a write lands with a flipped bit.</summary>
    public double WriteCorruption { get; set; }

    /// <summary>Capacity in megabytes.</summary>
    public long CapacityMb { get; set; } = 65_536;

    /// <summary>The kernel's fault record.</summary>
    public DiskFaults ToFaults() => new()
    {
        LatencyMinMicroseconds = LatencyMin.Microseconds,
        LatencyMaxMicroseconds = LatencyMax.Microseconds,
        SlowProbability = Slow,
        ReadErrorProbability = ReadErrors,
        WriteCorruptionProbability = WriteCorruption,
        CapacityBytes = CapacityMb * 1_000_000,
    };
}

/// <summary>The clock section.</summary>
public sealed class ClockSpec
{
    /// <summary>Largest wall-clock skew of a node.</summary>
    public Duration SkewMax { get; set; }

    /// <summary>Largest drift, parts per million.</summary>
    public double DriftMaxPpm { get; set; }

    /// <summary>The kernel's fault record.</summary>
    public ClockFaults ToFaults() => new() { SkewMaxMicroseconds = SkewMax.Microseconds, DriftMaxPpm = DriftMaxPpm };
}

/// <summary>The chaos section: rates of the random fault process.</summary>
public sealed class ChaosSpec
{
    /// <summary>Crashes per node per second.</summary>
    public double CrashRate { get; set; }

    /// <summary>Pauses per node per second.</summary>
    public double PauseRate { get; set; }

    /// <summary>Partitions per second.</summary>
    public double PartitionRate { get; set; }

    /// <summary>Clock jumps per node per second.</summary>
    public double ClockJumpRate { get; set; }

    /// <summary>At-rest corruptions per node per second.</summary>
    public double CorruptionRate { get; set; }

    /// <summary>The kernel's option record.</summary>
    public ChaosOptions ToOptions() => new()
    {
        CrashRatePerSecond = CrashRate,
        PauseRatePerSecond = PauseRate,
        PartitionRatePerSecond = PartitionRate,
        ClockJumpRatePerSecond = ClockJumpRate,
        CorruptionRatePerSecond = CorruptionRate,
    };
}

/// <summary>A scenario file is malformed; the message names the file (and line and column where known).</summary>
public sealed class ScenarioException(string message, Exception? inner = null) : Exception(message, inner);
