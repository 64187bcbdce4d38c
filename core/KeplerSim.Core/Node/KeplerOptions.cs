namespace KeplerSim.Core.Node;

/// <summary>How many durable copies a write waits for before it is acknowledged.</summary>
public enum Durability
{
    /// <summary>All N owners hold a durable copy.</summary>
    All,
    /// <summary>A majority of the N owners (N/2 + 1) hold a durable copy.</summary>
    Quorum,
    /// <summary>One durable copy (on the receiving node); the rest are queued.</summary>
    Fast,
}

/// <summary>Settings of a KeplerFS node. Defaults follow the KeplerFS seed's environment variables.</summary>
public sealed record KeplerOptions
{
    /// <summary>Largest replication factor.</summary>
    public const int ReplicationFactorMax = Ring.RingOptions.ReplicationFactorMax;

    /// <summary>Most chunks one upload may keep in flight (read, hashed, written, recorded) at once.</summary>
    public const int UploadChunksInFlightMax = 16;

    /// <summary>The default of <see cref="UploadChunksInFlight"/>.</summary>
    public const int UploadChunksInFlightDefault = 4;

    /// <summary>The default of <see cref="ServedConnectionsMax"/>.</summary>
    public const int ServedConnectionsMaxDefault = 4096;

    /// <summary>The default of <see cref="ServedConnectionsPerPeerMax"/>.</summary>
    public const int ServedConnectionsPerPeerMaxDefault = 512;

    /// <summary>The largest value either connection cap may be set to.</summary>
    public const int ServedConnectionsLimit = 1_000_000;

    /// <summary>Replication factor N (REPLICATION_FACTOR).</summary>
    public int ReplicationFactor { get; init; } = 3;

    /// <summary>Chunk size (CHUNK_SIZE_MB).</summary>
    public int ChunkSizeBytes { get; init; } = 4 * 1024 * 1024;

    /// <summary>Virtual nodes per node on the ring.</summary>
    public int VirtualNodesPerNode { get; init; } = Ring.RingOptions.VirtualNodesPerNodeDefault;

    /// <summary>How long a write waits for its durability before it fails (its data stays queued).</summary>
    public long WriteTimeoutMicroseconds { get; init; } = 30_000_000;

    /// <summary>How long one transfer request (store, fetch, manifest) may take before it counts as failed.</summary>
    public long TransferTimeoutMicroseconds { get; init; } = 5_000_000;

    /// <summary>First retry delay of a failed replication; doubles per attempt.</summary>
    public long RetryBaseMicroseconds { get; init; } = 100_000;

    /// <summary>Largest retry delay (the backoff cap).</summary>
    public long RetryMaxMicroseconds { get; init; } = 10_000_000;

    /// <summary>How often the replication worker looks for due queue entries while it has work.</summary>
    public long ReplicationPollMicroseconds { get; init; } = 200_000;

    /// <summary>
    /// The longest the replication worker sleeps: with an empty queue (or none due before then) it wakes this
    /// often, and sooner when work is queued (a kick) or an entry falls due.
    /// </summary>
    public long ReplicationIdlePollMicroseconds { get; init; } = 5_000_000;

    /// <summary>
    /// Chunks one upload keeps in flight at once: while some are hashed and fsync'd, the next is read, so the disk
    /// and the cores stay busy. Each holds one chunk buffer, so an upload holds this many chunks of memory.
    /// </summary>
    public int UploadChunksInFlight { get; init; } = UploadChunksInFlightDefault;

    /// <summary>
    /// The most bytes of chunk buffers all uploads on the node hold together (default 32 MiB, at least one chunk):
    /// with more concurrent uploads than it covers, an upload runs fewer chunks in flight, or waits for a buffer
    /// if it holds none, instead of allocating more.
    /// </summary>
    public long UploadBufferBytesMax { get; init; } = 32L * 1024 * 1024;

    /// <summary>Replications in flight at once per node.</summary>
    public int ReplicationConcurrency { get; init; } = 4;

    /// <summary>
    /// Inbound transfer connections (transfer exchanges and SWIM streams) the node serves at once
    /// (TRANSFER_CONNECTIONS_MAX): one accepted beyond it is closed at once, before its handshake or any read, and
    /// counted (docs/PROTOCOL.md, "Transfer connections").
    /// </summary>
    public int ServedConnectionsMax { get; init; } = ServedConnectionsMaxDefault;

    /// <summary>
    /// Inbound transfer connections the node serves at once from one remote host (its IP address; a node name in
    /// the simulator), at most <see cref="ServedConnectionsMax"/> (TRANSFER_CONNECTIONS_PER_PEER_MAX): one more is
    /// refused as one over the node's cap is, so a single client cannot take every connection.
    /// </summary>
    public int ServedConnectionsPerPeerMax { get; init; } = ServedConnectionsPerPeerMaxDefault;

    /// <summary>Bandwidth cap of repair and rebalance traffic (REBALANCE_BANDWIDTH_MBPS; client writes are exempt).</summary>
    public long RebalanceBandwidthBytesPerSecond { get; init; } = 50_000_000;

    /// <summary>How long a surplus or hinted copy is kept after every owner confirmed it.</summary>
    public long SurplusGraceMicroseconds { get; init; } = 10_000_000;

    /// <summary>How often the repair scan re-checks every local chunk against the ring (also on any change).</summary>
    public long RepairScanIntervalMicroseconds { get; init; } = 60_000_000;

    /// <summary>Chunks the repair scan examines per second.</summary>
    public int RepairScanChunksPerSecond { get; init; } = 2_000;

    /// <summary>Mean time between manifest anti-entropy rounds with a random peer.</summary>
    public long AntiEntropyIntervalMicroseconds { get; init; } = 5_000_000;

    /// <summary>How long garbage waits before it is collected (must outlast writes and dissemination).</summary>
    public long GcGraceMicroseconds { get; init; } = 3_600_000_000;

    /// <summary>Time between garbage collection runs.</summary>
    public long GcIntervalMicroseconds { get; init; } = 30_000_000;

    /// <summary>
    /// How long a chunk of an abandoned write (failed or cut off before its manifest existed) stays before the
    /// orphan collector deletes it, when every write that stored or counted this node's copy was abandoned
    /// (docs/PROTOCOL.md, "Orphan chunks"). The collector runs every quarter of it while it has work.
    /// </summary>
    public long OrphanGraceMicroseconds { get; init; } = 60_000_000;

    /// <summary>Most chunks scrub re-verifies per second (0 turns scrub off).</summary>
    public int ScrubChunksPerSecond { get; init; } = 20;

    /// <summary>Most bytes scrub reads per second: after a chunk of S bytes it waits at least S / this.</summary>
    public long ScrubBytesPerSecond { get; init; } = 16L * 1024 * 1024;

    /// <summary>
    /// Scrub verifies the whole store at most once per this period: with C chunks it waits at least period / C
    /// between chunks, so an idle node with a small store is quiet (0 = no such floor; the rate caps alone pace
    /// it). Default one day.
    /// </summary>
    public long ScrubPassMicroseconds { get; init; } = 24L * 3600 * 1_000_000;

    /// <summary>
    /// While a client upload or download runs on the node, scrub verifies at most one chunk per this interval
    /// (if its own rate is not slower): background reads and hashes would otherwise take disk bandwidth and CPU
    /// from the client (at 20 chunks/s of 4 MiB, 80 MiB/s).
    /// </summary>
    public long ScrubBusyIntervalMicroseconds { get; init; } = 1_000_000;

    /// <summary>
    /// SWIM membership settings; null keeps the member set static (as given to the node). With SWIM the ring is
    /// the configured members plus those SWIM found alive, minus those it declared dead or gone.
    /// </summary>
    public Membership.SwimOptions? Swim { get; init; }

    /// <summary>Extra gossip addresses to join through (SEEDS), besides the configured members.</summary>
    public IReadOnlyList<Runtime.NetAddress> Seeds { get; init; } = [];

    /// <summary>
    /// The cluster key (CLUSTER_KEY): when set, every gossip datagram and transfer connection is authenticated and
    /// encrypted with it (docs/PROTOCOL.md, "Cluster key"); null sends in the clear (loopback or INSECURE=1).
    /// </summary>
    public Security.ClusterKeyring? ClusterKey { get; init; }

    /// <summary>Copies a write of this durability waits for, given N.</summary>
    public int RequiredCopies(Durability durability) => CopiesFor(durability, ReplicationFactor);

    /// <summary>Copies a write of <paramref name="durability"/> waits for when N is <paramref name="n"/>.</summary>
    public static int CopiesFor(Durability durability, int n) => durability switch
    {
        Durability.All => n,
        Durability.Quorum => n / 2 + 1,
        _ => 1,
    };

    /// <summary>Checks every value; throws <see cref="ArgumentException"/> naming the bad one.</summary>
    public void Validate()
    {
        Require(ReplicationFactor is >= 1 and <= ReplicationFactorMax,
            $"replication factor must be 1..{ReplicationFactorMax}");
        Require(ChunkSizeBytes is >= 1024 and <= 64 * 1024 * 1024, "chunk size must be 1 KiB..64 MiB");
        Require(VirtualNodesPerNode is >= Ring.RingOptions.VirtualNodesPerNodeMin
            and <= Ring.RingOptions.VirtualNodesPerNodeMax, "virtual nodes per node must be 1..1024");
        Require(WriteTimeoutMicroseconds > 0, "write timeout must be > 0");
        Require(TransferTimeoutMicroseconds > 0, "transfer timeout must be > 0");
        Require(RetryBaseMicroseconds > 0 && RetryMaxMicroseconds >= RetryBaseMicroseconds,
            "retry delays must be > 0 and max >= base");
        Require(ReplicationPollMicroseconds > 0, "replication poll interval must be > 0");
        Require(ReplicationIdlePollMicroseconds >= ReplicationPollMicroseconds,
            "replication idle poll interval must be >= the poll interval");
        Require(UploadBufferBytesMax >= ChunkSizeBytes, "the upload buffer budget must hold at least one chunk");
        Require(UploadChunksInFlight is >= 1 and <= UploadChunksInFlightMax,
            $"upload chunks in flight must be 1..{UploadChunksInFlightMax}");
        Require(ReplicationConcurrency is >= 1 and <= 64, "replication concurrency must be 1..64");
        Require(ServedConnectionsMax is >= 1 and <= ServedConnectionsLimit,
            $"served connections max must be 1..{ServedConnectionsLimit}");
        Require(ServedConnectionsPerPeerMax >= 1 && ServedConnectionsPerPeerMax <= ServedConnectionsMax,
            "served connections per peer max must be 1..served connections max");
        Require(RebalanceBandwidthBytesPerSecond > 0, "rebalance bandwidth must be > 0");
        Require(SurplusGraceMicroseconds >= 0, "surplus grace must be >= 0");
        Require(RepairScanIntervalMicroseconds > 0, "repair scan interval must be > 0");
        Require(RepairScanChunksPerSecond > 0, "repair scan rate must be > 0");
        Require(ScrubChunksPerSecond >= 0, "scrub rate must be >= 0");
        Require(ScrubBytesPerSecond > 0, "scrub bandwidth must be > 0");
        Require(ScrubPassMicroseconds >= 0, "scrub pass period must be >= 0");
        Require(ScrubBusyIntervalMicroseconds > 0, "scrub busy interval must be > 0");
        Require(AntiEntropyIntervalMicroseconds > 0, "anti-entropy interval must be > 0");
        Require(GcGraceMicroseconds > WriteTimeoutMicroseconds + 4 * AntiEntropyIntervalMicroseconds,
            "gc grace must outlast the write timeout plus four anti-entropy rounds");
        Require(GcIntervalMicroseconds > 0, "gc interval must be > 0");
        Require(OrphanGraceMicroseconds > 0, "orphan grace must be > 0");
    }

    private static void Require(bool condition, string message)
    {
        if (!condition)
        {
            throw new ArgumentException(message);
        }
    }
}
