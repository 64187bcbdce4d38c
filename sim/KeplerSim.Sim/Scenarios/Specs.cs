using KeplerSim.Core.Membership;
using KeplerSim.Core.Node;
using KeplerSim.Sim.KeplerFs;
using KeplerSim.Sim.Kernel;

namespace KeplerSim.Sim.Scenarios;

/// <summary>The cluster section.</summary>
public sealed class ClusterSpec
{
    /// <summary>Largest cluster a scenario may ask for.</summary>
    public const int NodesMax = 1000;

    /// <summary>Number of nodes, named n1..nN (ignored when <see cref="Names"/> is given).</summary>
    public int Nodes { get; set; } = 3;

    /// <summary>Explicit node names.</summary>
    public List<string>? Names { get; set; }

    /// <summary>The protocol the nodes run: <c>ping</c>, <c>keplerfs</c> or a registered name.</summary>
    public string Protocol { get; set; } = "ping";

    /// <summary>Nodes started at time 0 (default: all); the others need a <c>start</c> step.</summary>
    public List<string>? Start { get; set; }

    /// <summary>Replication factor N.</summary>
    public int ReplicationFactor { get; set; } = 3;

    /// <summary>
    /// How KeplerFS nodes learn their members: <c>swim</c> (the default, as deployed: a node knows itself and its
    /// seeds and joins through them) or <c>static</c> (every node of the scenario is a member from the start, like
    /// <c>PEERS</c> on a real fixed cluster; a node started later was simply down until then).
    /// </summary>
    public MembershipMode Membership { get; set; } = MembershipMode.Swim;

    /// <summary>
    /// The nodes every node joins through (SWIM). Default: the first up to <see cref="DefaultSeedsMax"/> nodes
    /// started at time 0; a node never seeds itself.
    /// </summary>
    public List<string>? Seeds { get; set; }

    /// <summary>SWIM timings; unset knobs keep the node's defaults.</summary>
    public SwimSpec Swim { get; set; } = new();

    /// <summary>
    /// Whether KeplerFS nodes run with a cluster key (CLUSTER_KEY; default true: the simulator exercises the sealing
    /// code a secure deployment ships). The key is derived from the run's seed; restart steps may rotate it.
    /// </summary>
    public bool ClusterKey { get; set; } = true;

    /// <summary>Chunk size.</summary>
    public ByteSize ChunkSize { get; set; } = new(4L << 20);

    /// <summary>
    /// Whether nodes encrypt their chunk files at rest (AES-256-GCM, as ENCRYPTION_KEY does on a real node), under
    /// one key derived from the run's seed. Checkers decrypt with it to verify chunks from outside.
    /// </summary>
    public bool EncryptionAtRest { get; set; }

    /// <summary>KeplerFS protocol knobs.</summary>
    public KeplerFsSpec Keplerfs { get; set; } = new();

    /// <summary>Demo protocol knobs.</summary>
    public PingSpec Ping { get; set; } = new();

    /// <summary>The node names, in order.</summary>
    public IReadOnlyList<string> NodeNames() =>
        Names is { Count: > 0 } names ? names : Enumerable.Range(1, Nodes).Select(i => $"n{i}").ToList();

    /// <summary>The nodes started at time 0.</summary>
    public IReadOnlyList<string> InitialNodes() => Start ?? NodeNames();

    /// <summary>Most seeds chosen when <see cref="Seeds"/> is not given.</summary>
    public const int DefaultSeedsMax = 3;

    /// <summary>The seeds (given, or the first nodes started at time 0), before a node leaves itself out.</summary>
    public IReadOnlyList<string> SeedNodes()
    {
        if (Seeds is { } seeds)
        {
            return seeds;
        }

        var initial = new SortedSet<string>(InitialNodes(), StringComparer.Ordinal);
        return NodeNames().Where(initial.Contains).Take(DefaultSeedsMax).ToList();
    }

    /// <summary>The KeplerFS node options this section describes.</summary>
    public KeplerOptions ToKeplerOptions() => Keplerfs.Apply(new KeplerOptions
    {
        ReplicationFactor = ReplicationFactor,
        ChunkSizeBytes = (int)Math.Min(int.MaxValue, ChunkSize.Bytes),
        Swim = Membership == MembershipMode.Swim ? Swim.ToOptions() : null,
    });
}

/// <summary>
/// SWIM timings (<c>cluster.swim</c>), to scale a simulated cluster's failure detection. Every knob left unset keeps
/// the value a real node runs with its default configuration (<c>SwimOptions</c>' defaults, which
/// <c>NodeHost.SwimOptionsOf</c> yields for the default <c>SWIM_PROBE_INTERVAL_MS</c>).
/// </summary>
public sealed class SwimSpec
{
    /// <summary>Time between failure-detection probes.</summary>
    public Duration? ProbeInterval { get; set; }

    /// <summary>How long a probe waits for a direct ack before asking others (ping-req).</summary>
    public Duration? ProbeTimeout { get; set; }

    /// <summary>How many members are asked to probe a silent target indirectly.</summary>
    public int? IndirectChecks { get; set; }

    /// <summary>Scales the suspicion timeout (mult × max(1, log10(n)) × probe interval).</summary>
    public int? SuspicionMultiplier { get; set; }

    /// <summary>Time between gossip rounds.</summary>
    public Duration? GossipInterval { get; set; }

    /// <summary>Time between full-state push-pull syncs.</summary>
    public Duration? PushPullInterval { get; set; }

    /// <summary>Time between join attempts while no seed has answered.</summary>
    public Duration? JoinRetryInterval { get; set; }

    /// <summary>
    /// The SWIM options: the node's defaults with the knobs that are set. A probe interval alone scales the probe
    /// timeout and join retry as the node's <c>SWIM_PROBE_INTERVAL_MS</c> does (<c>NodeHost.SwimOptionsOf</c>).
    /// </summary>
    public SwimOptions ToOptions()
    {
        var defaults = new SwimOptions();
        var interval = ProbeInterval?.Microseconds ?? defaults.ProbeIntervalMicroseconds;
        return defaults with
        {
            ProbeIntervalMicroseconds = interval,
            ProbeTimeoutMicroseconds = ProbeTimeout?.Microseconds
                ?? Math.Min(defaults.ProbeTimeoutMicroseconds, interval / 2),
            IndirectChecks = IndirectChecks ?? defaults.IndirectChecks,
            SuspicionMultiplier = SuspicionMultiplier ?? defaults.SuspicionMultiplier,
            GossipIntervalMicroseconds = GossipInterval?.Microseconds ?? defaults.GossipIntervalMicroseconds,
            PushPullIntervalMicroseconds = PushPullInterval?.Microseconds ?? defaults.PushPullIntervalMicroseconds,
            JoinRetryIntervalMicroseconds = JoinRetryInterval?.Microseconds
                ?? Math.Min(defaults.JoinRetryIntervalMicroseconds, interval),
        };
    }
}

/// <summary>KeplerFS knobs (<c>cluster.keplerfs</c>); each maps onto a <see cref="KeplerOptions"/> member.</summary>
public sealed class KeplerFsSpec
{
    /// <summary>Virtual nodes per node on the ring.</summary>
    public int? VirtualNodes { get; set; }

    /// <summary>How long a write waits for its durability.</summary>
    public Duration? WriteTimeout { get; set; }

    /// <summary>How long one transfer request may take.</summary>
    public Duration? TransferTimeout { get; set; }

    /// <summary>First replication retry delay.</summary>
    public Duration? RetryBase { get; set; }

    /// <summary>Largest replication retry delay.</summary>
    public Duration? RetryMax { get; set; }

    /// <summary>Idle poll interval of the replication worker.</summary>
    public Duration? ReplicationPoll { get; set; }

    /// <summary>Replications in flight per node.</summary>
    public int? ReplicationConcurrency { get; set; }

    /// <summary>Bandwidth cap of repair and rebalance traffic, megabytes per second.</summary>
    public double? BandwidthCapMbps { get; set; }

    /// <summary>Inbound transfer connections a node serves at once (TRANSFER_CONNECTIONS_MAX).</summary>
    public int? ServedConnectionsMax { get; set; }

    /// <summary>
    /// Inbound transfer connections a node serves at once from one peer (TRANSFER_CONNECTIONS_PER_PEER_MAX).
    /// </summary>
    public int? ServedConnectionsPerPeerMax { get; set; }

    /// <summary>How long a surplus copy is kept after its new owners confirmed it.</summary>
    public Duration? SurplusGrace { get; set; }

    /// <summary>Interval of the full repair scan.</summary>
    public Duration? RepairScanInterval { get; set; }

    /// <summary>Interval of manifest anti-entropy.</summary>
    public Duration? AntiEntropyInterval { get; set; }

    /// <summary>Garbage-collection grace period.</summary>
    public Duration? GcGrace { get; set; }

    /// <summary>Garbage-collection interval.</summary>
    public Duration? GcInterval { get; set; }

    /// <summary>How long a chunk of an abandoned write waits before the orphan collector deletes it.</summary>
    public Duration? OrphanGrace { get; set; }

    /// <summary>Chunks scrubbed per second at most.</summary>
    public int? ScrubChunksPerSecond { get; set; }

    /// <summary>Scrub's whole-store pass floor (0: none); the node's default is a day.</summary>
    public Duration? ScrubPass { get; set; }

    /// <summary>
    /// Removed from scenario files: <c>cluster.keplerfs.swim</c> is an error naming its replacement,
    /// <c>cluster.membership</c> (SWIM is the default). Kept as a property only so that the binder reports the
    /// removed key at its position; it has no effect.
    /// </summary>
    [RemovedKey("cluster.membership: swim (the default) or static")]
    public bool? Swim { get; set; }

    /// <summary>Applies the knobs that are set to <paramref name="options"/>.</summary>
    public KeplerOptions Apply(KeplerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options with
        {
            VirtualNodesPerNode = VirtualNodes ?? options.VirtualNodesPerNode,
            WriteTimeoutMicroseconds = WriteTimeout?.Microseconds ?? options.WriteTimeoutMicroseconds,
            TransferTimeoutMicroseconds = TransferTimeout?.Microseconds ?? options.TransferTimeoutMicroseconds,
            RetryBaseMicroseconds = RetryBase?.Microseconds ?? options.RetryBaseMicroseconds,
            RetryMaxMicroseconds = RetryMax?.Microseconds ?? options.RetryMaxMicroseconds,
            ReplicationPollMicroseconds = ReplicationPoll?.Microseconds ?? options.ReplicationPollMicroseconds,
            ReplicationConcurrency = ReplicationConcurrency ?? options.ReplicationConcurrency,
            RebalanceBandwidthBytesPerSecond = BandwidthCapMbps is { } mbps
                ? (long)(mbps * 1_000_000)
                : options.RebalanceBandwidthBytesPerSecond,
            ServedConnectionsMax = ServedConnectionsMax ?? options.ServedConnectionsMax,
            ServedConnectionsPerPeerMax = ServedConnectionsPerPeerMax ?? options.ServedConnectionsPerPeerMax,
            SurplusGraceMicroseconds = SurplusGrace?.Microseconds ?? options.SurplusGraceMicroseconds,
            RepairScanIntervalMicroseconds = RepairScanInterval?.Microseconds ?? options.RepairScanIntervalMicroseconds,
            AntiEntropyIntervalMicroseconds = AntiEntropyInterval?.Microseconds
                ?? options.AntiEntropyIntervalMicroseconds,
            GcGraceMicroseconds = GcGrace?.Microseconds ?? options.GcGraceMicroseconds,
            GcIntervalMicroseconds = GcInterval?.Microseconds ?? options.GcIntervalMicroseconds,
            OrphanGraceMicroseconds = OrphanGrace?.Microseconds ?? options.OrphanGraceMicroseconds,
            ScrubChunksPerSecond = ScrubChunksPerSecond ?? options.ScrubChunksPerSecond,
            ScrubPassMicroseconds = ScrubPass?.Microseconds ?? options.ScrubPassMicroseconds,
        };
    }
}

/// <summary>Demo protocol knobs (<c>cluster.ping</c>).</summary>
public sealed class PingSpec
{
    /// <summary>Mean time between pings.</summary>
    public Duration Interval { get; set; } = new(100_000);

    /// <summary>Time between stream transfers.</summary>
    public Duration TransferInterval { get; set; } = new(1_000_000);

    /// <summary>Bytes per stream transfer.</summary>
    public ByteSize TransferSize { get; set; } = new(256 * 1024);

    /// <summary>Whether to touch the disk and streams.</summary>
    public bool DiskAndStreams { get; set; } = true;
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

    /// <summary>Largest extra delay of a reordered datagram.</summary>
    public Duration ReorderDelayMax { get; set; } = new(20_000);

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
        ReorderDelayMaxMicroseconds = ReorderDelayMax.Microseconds,
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

    /// <summary>Probability that an operation is slow.</summary>
    public double Slow { get; set; }

    /// <summary>How many times slower a slow operation is.</summary>
    public int SlowFactor { get; set; } = 50;

    /// <summary>Probability that a read fails.</summary>
    public double ReadErrors { get; set; }

    /// <summary>Probability that a file create, append or fsync fails with an I/O error.</summary>
    public double WriteErrors { get; set; }

    /// <summary>Probability that a write lands with a flipped bit.</summary>
    public double WriteCorruption { get; set; }

    /// <summary>Capacity in megabytes.</summary>
    public double CapacityMb { get; set; } = 65_536;

    /// <summary>The kernel's fault record.</summary>
    public DiskFaults ToFaults() => new()
    {
        LatencyMinMicroseconds = LatencyMin.Microseconds,
        LatencyMaxMicroseconds = LatencyMax.Microseconds,
        SlowProbability = Slow,
        SlowFactor = SlowFactor,
        ReadErrorProbability = ReadErrors,
        WriteErrorProbability = WriteErrors,
        WriteCorruptionProbability = WriteCorruption,
        CapacityBytes = (long)(CapacityMb * 1_000_000),
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

    /// <summary>How long a crashed node stays down at most.</summary>
    public Duration RestartDelay { get; set; } = new(2_000_000);

    /// <summary>Pauses per node per second.</summary>
    public double PauseRate { get; set; }

    /// <summary>Longest pause.</summary>
    public Duration PauseMax { get; set; } = new(3_000_000);

    /// <summary>Partitions per second.</summary>
    public double PartitionRate { get; set; }

    /// <summary>Longest partition.</summary>
    public Duration PartitionMax { get; set; } = new(5_000_000);

    /// <summary>Clock jumps per node per second.</summary>
    public double ClockJumpRate { get; set; }

    /// <summary>At-rest corruptions per node per second.</summary>
    public double CorruptionRate { get; set; }

    /// <summary>Probability that a buggify site is enabled for the run.</summary>
    public double Buggify { get; set; }

    /// <summary>The kernel's option record.</summary>
    public ChaosOptions ToOptions() => new()
    {
        CrashRatePerSecond = CrashRate,
        RestartDelayMicroseconds = RestartDelay.Microseconds,
        PauseRatePerSecond = PauseRate,
        PauseMaxMicroseconds = PauseMax.Microseconds,
        PartitionRatePerSecond = PartitionRate,
        PartitionMaxMicroseconds = PartitionMax.Microseconds,
        ClockJumpRatePerSecond = ClockJumpRate,
        CorruptionRatePerSecond = CorruptionRate,
    };
}

/// <summary>
/// The swarm section: per seed, each listed rate is switched off with <see cref="OffProbability"/>, else scaled
/// by a uniform factor in [<see cref="ScaleMin"/>, 1]. Used by <c>swarm</c> and <c>replay --swarm</c>.
/// </summary>
public sealed class SwarmSpec
{
    /// <summary>Rates that may vary, as <c>section.key</c> (<c>network.loss</c>, <c>chaos.crash_rate</c>).</summary>
    public List<string> Vary { get; set; } = [];

    /// <summary>Probability that a listed rate is off for a seed.</summary>
    public double OffProbability { get; set; } = 0.25;

    /// <summary>Smallest scale factor of a rate that is on.</summary>
    public double ScaleMin { get; set; } = 0.1;
}

/// <summary>A random workload generator.</summary>
public sealed class WorkloadSpec
{
    /// <summary>The generator's name; its randomness is <c>Derive(seed, "workload/&lt;name&gt;")</c>.</summary>
    public string Name { get; set; } = "";

    /// <summary>Operations per virtual second (Poisson arrivals).</summary>
    public double Rate { get; set; } = 10;

    /// <summary>When the generator starts.</summary>
    public Duration Start { get; set; }

    /// <summary>When it stops (default: the scenario's duration).</summary>
    public Duration? Stop { get; set; }

    /// <summary>Relative weight of puts.</summary>
    public double Puts { get; set; } = 1;

    /// <summary>Relative weight of gets.</summary>
    public double Gets { get; set; } = 1;

    /// <summary>Relative weight of deletes.</summary>
    public double Deletes { get; set; }

    /// <summary>Smallest put size.</summary>
    public ByteSize SizeMin { get; set; } = new(1024);

    /// <summary>Largest put size (sizes are log-uniform between min and max).</summary>
    public ByteSize SizeMax { get; set; } = new(64 * 1024);

    /// <summary>How many distinct paths (<c>/&lt;name&gt;/0</c> … <c>/&lt;name&gt;/paths-1</c>).</summary>
    public int Paths { get; set; } = 16;

    /// <summary>Nodes the operations go to (default: all).</summary>
    public List<string>? Nodes { get; set; }

    /// <summary>Durability of puts and deletes.</summary>
    public Durability Durability { get; set; } = Durability.Quorum;

    /// <summary>Most operations of this generator in flight at once.</summary>
    public int InFlightMax { get; set; } = 16;
}

/// <summary>The expect section.</summary>
public sealed class ExpectSpec
{
    /// <summary>Longest time the cluster may take to converge after every fault is healed.</summary>
    public Duration ConvergeWithin { get; set; } = new(60_000_000);

    /// <summary>How often safety invariants are checked while the run goes on.</summary>
    public Duration CheckInterval { get; set; } = new(1_000_000);

    /// <summary>The invariants to check (default: all; unavailable ones report "not applicable").</summary>
    public List<string>? Invariants { get; set; }

    /// <summary>Bounds on metrics: <c>ops.put.ok: "&gt;= 10"</c>.</summary>
    public SortedDictionary<string, string> Metrics { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>
/// Marks a property whose key is no longer accepted in scenario files: the binder rejects the key with a positioned
/// error naming <see cref="Replacement"/>, and the writer never writes it.
/// </summary>
/// <param name="replacement">What to write instead.</param>
[AttributeUsage(AttributeTargets.Property)]
public sealed class RemovedKeyAttribute(string replacement) : Attribute
{
    /// <summary>What to write instead.</summary>
    public string Replacement => replacement;
}
