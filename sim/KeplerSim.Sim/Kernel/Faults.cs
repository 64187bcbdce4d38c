namespace KeplerSim.Sim.Kernel;

/// <summary>
/// Network fault model for a link (TigerBeetle's packet simulator shape). Latency is uniform in
/// [<see cref="LatencyMinMicroseconds"/>, <see cref="LatencyMaxMicroseconds"/>]; a reordered datagram gets an
/// extra uniform delay up to <see cref="ReorderDelayMaxMicroseconds"/>.
/// </summary>
public sealed record NetworkFaults
{
    /// <summary>Smallest one-way latency.</summary>
    public long LatencyMinMicroseconds { get; init; } = 200;

    /// <summary>Largest one-way latency (before reordering delay).</summary>
    public long LatencyMaxMicroseconds { get; init; } = 2_000;

    /// <summary>Probability that a datagram is lost.</summary>
    public double LossProbability { get; init; }

    /// <summary>Probability that a datagram is delivered twice.</summary>
    public double DuplicationProbability { get; init; }

    /// <summary>Probability that a datagram is held back and so overtaken by later ones.</summary>
    public double ReorderProbability { get; init; }

    /// <summary>The largest extra delay of a reordered datagram.</summary>
    public long ReorderDelayMaxMicroseconds { get; init; } = 20_000;

    /// <summary>Largest datagram payload; larger sends are rejected (the MTU budget).</summary>
    public int MtuBytes { get; init; } = 1400;

    /// <summary>Stream bandwidth of one connection direction.</summary>
    public long StreamBandwidthBytesPerSecond { get; init; } = 125_000_000;

    /// <summary>How long a connect to an unreachable (partitioned) peer takes to fail.</summary>
    public long ConnectTimeoutMicroseconds { get; init; } = 1_000_000;

    /// <summary>Largest stream frame.</summary>
    public int MaxFrameBytes { get; init; } = 1 << 20;

    /// <summary>Checks the values are in range; throws <see cref="ArgumentException"/> naming the bad one.</summary>
    public void Validate()
    {
        Require(LatencyMinMicroseconds >= 0, "latency min must be >= 0");
        Require(LatencyMaxMicroseconds >= LatencyMinMicroseconds, "latency max must be >= latency min");
        Require(LossProbability is >= 0 and <= 1, "loss must be in [0, 1]");
        Require(DuplicationProbability is >= 0 and <= 1, "duplication must be in [0, 1]");
        Require(ReorderProbability is >= 0 and <= 1, "reorder must be in [0, 1]");
        Require(ReorderDelayMaxMicroseconds >= 0, "reorder delay must be >= 0");
        Require(MtuBytes is >= 64 and <= 65_507, "mtu must be in [64, 65507]");
        Require(StreamBandwidthBytesPerSecond > 0, "bandwidth must be > 0");
        Require(ConnectTimeoutMicroseconds > 0, "connect timeout must be > 0");
        Require(MaxFrameBytes >= 1024, "max frame must be >= 1024");
    }

    internal static void Require(bool condition, string message)
    {
        if (!condition)
        {
            throw new ArgumentException(message);
        }
    }
}

/// <summary>
/// Disk fault model (TigerBeetle's testing/storage, FoundationDB's AsyncFileNonDurable). On a crash each file's
/// unsynced tail is kept, lost or torn, and each directory's unsynced entries are kept or reverted.
/// </summary>
public sealed record DiskFaults
{
    /// <summary>Smallest latency of one disk operation.</summary>
    public long LatencyMinMicroseconds { get; init; } = 20;

    /// <summary>Largest latency of one disk operation (fsync takes ten times as long).</summary>
    public long LatencyMaxMicroseconds { get; init; } = 200;

    /// <summary>Probability that an operation is slow.</summary>
    public double SlowProbability { get; init; }

    /// <summary>How many times slower a slow operation is.</summary>
    public int SlowFactor { get; init; } = 50;

    /// <summary>Probability that a read fails with an I/O error.</summary>
    public double ReadErrorProbability { get; init; }

    /// <summary>
    /// Probability that creating a file, appending to one or fsyncing one fails with an I/O error (EIO); the failed
    /// operation changes nothing. Directory operations, renames and deletes do not fail.
    /// </summary>
    public double WriteErrorProbability { get; init; }

    /// <summary>Probability that an appended block lands on disk with one bit flipped.</summary>
    public double WriteCorruptionProbability { get; init; }

    /// <summary>Capacity of the disk.</summary>
    public long CapacityBytes { get; init; } = 64L << 30;

    /// <summary>On a crash, probability that a file's unsynced tail is torn (a random prefix survives).</summary>
    public double CrashTornProbability { get; init; } = 0.4;

    /// <summary>On a crash, probability that a file's unsynced tail survives whole (the OS flushed it).</summary>
    public double CrashKeepProbability { get; init; } = 0.2;

    /// <summary>On a crash, probability that a directory's unsynced entries survive (else they revert).</summary>
    public double CrashKeepDirectoryProbability { get; init; } = 0.5;

    /// <summary>Checks the values are in range; throws <see cref="ArgumentException"/> naming the bad one.</summary>
    public void Validate()
    {
        NetworkFaults.Require(LatencyMinMicroseconds >= 0, "disk latency min must be >= 0");
        NetworkFaults.Require(LatencyMaxMicroseconds >= LatencyMinMicroseconds, "disk latency max must be >= min");
        NetworkFaults.Require(SlowProbability is >= 0 and <= 1, "slow probability must be in [0, 1]");
        NetworkFaults.Require(SlowFactor >= 1, "slow factor must be >= 1");
        NetworkFaults.Require(ReadErrorProbability is >= 0 and <= 1, "read error probability must be in [0, 1]");
        NetworkFaults.Require(WriteErrorProbability is >= 0 and <= 1, "write error probability must be in [0, 1]");
        NetworkFaults.Require(WriteCorruptionProbability is >= 0 and <= 1, "write corruption must be in [0, 1]");
        NetworkFaults.Require(CapacityBytes > 0, "capacity must be > 0");
        NetworkFaults.Require(CrashTornProbability + CrashKeepProbability <= 1, "torn + keep must be <= 1");
        NetworkFaults.Require(CrashKeepDirectoryProbability is >= 0 and <= 1, "keep directory must be in [0, 1]");
    }
}

/// <summary>Clock fault model: each node gets a skew and a drift drawn from these bounds.</summary>
public sealed record ClockFaults
{
    /// <summary>Largest absolute wall-clock skew from virtual time.</summary>
    public long SkewMaxMicroseconds { get; init; }

    /// <summary>Largest absolute drift, in parts per million (a fast or slow oscillator).</summary>
    public double DriftMaxPpm { get; init; }

    /// <summary>Checks the values are in range.</summary>
    public void Validate()
    {
        NetworkFaults.Require(SkewMaxMicroseconds >= 0, "skew must be >= 0");
        NetworkFaults.Require(DriftMaxPpm is >= 0 and <= 100_000, "drift must be in [0, 100000] ppm");
    }
}
