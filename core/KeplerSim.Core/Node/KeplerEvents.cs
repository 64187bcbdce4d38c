using KeplerSim.Core.Diagnostics;

namespace KeplerSim.Core.Node;

/// <summary>A write reached its durability and was acknowledged to the client.</summary>
public sealed record WriteAcknowledged(string Path, string Version, string Durability, int Chunks, long SizeBytes)
    : KeplerEvent
{
    /// <inheritdoc />
    public override string Kind => "write.ack";
}

/// <summary>A chunk reached one of its owners durably.</summary>
public sealed record ChunkReplicated(string ChunkId, string Target) : KeplerEvent
{
    /// <inheritdoc />
    public override string Kind => "chunk.replicated";
}

/// <summary>
/// The repair scan offered a page of <paramref name="Offered"/> chunks to <paramref name="Target"/> in one exchange;
/// <paramref name="Lacking"/> of them are queued to be sent (all of them when the exchange failed:
/// <paramref name="Error"/>).
/// </summary>
public sealed record RepairOffered(string Target, int Offered, int Lacking, string? Error) : KeplerEvent
{
    /// <inheritdoc />
    public override string Kind => "repair.offered";
}

/// <summary>A replication attempt failed; it will be retried after a backoff.</summary>
public sealed record ReplicationRetry(string ChunkId, string Target, int Attempts, string Reason) : KeplerEvent
{
    /// <inheritdoc />
    public override string Kind => "chunk.retry";
}

/// <summary>
/// A replication queue entry was dropped unsent, for good (<paramref name="Reason"/>): its target left the ring,
/// this node no longer holds the chunk, or it is an owner's copy of garbage (docs/PROTOCOL.md, "Batched
/// repair offers").
/// </summary>
public sealed record ReplicationDropped(string ChunkId, string Target, string Reason) : KeplerEvent
{
    /// <inheritdoc />
    public override string Kind => "chunk.dropped";
}

/// <summary>A peer offered bytes that do not match the chunk id; nothing was stored.</summary>
public sealed record ChunkRejected(string ChunkId, string Peer, string Reason) : KeplerEvent
{
    /// <inheritdoc />
    public override string Kind => "chunk.rejected";
}

/// <summary>A manifest version was recorded on this node.</summary>
public sealed record ManifestApplied(string Path, string Version, bool IsTombstone, bool IsWinner) : KeplerEvent
{
    /// <inheritdoc />
    public override string Kind => "manifest.applied";
}

/// <summary>A corrupt or missing local chunk was repaired from a replica while serving a read.</summary>
public sealed record ChunkReadRepaired(string ChunkId, string Source) : KeplerEvent
{
    /// <inheritdoc />
    public override string Kind => "chunk.read_repaired";
}

/// <summary>A peer sent a frame that does not follow the protocol.</summary>
public sealed record MalformedFrame(string Peer, string Reason) : KeplerEvent
{
    /// <inheritdoc />
    public override string Kind => "frame.malformed";
}

/// <summary>
/// An accepted transfer connection from <paramref name="Peer"/> (a remote host) was closed at once, unread: the node
/// already served <paramref name="Served"/> connections, the most it serves (<paramref name="Limit"/> <c>node</c>,
/// <see cref="KeplerOptions.ServedConnectionsMax"/>) or the most from one host (<c>peer</c>,
/// <see cref="KeplerOptions.ServedConnectionsPerPeerMax"/>), every one of them mid-exchange (none idle to evict);
/// <paramref name="Refused"/> counts this incarnation's refusals so far.
/// </summary>
public sealed record TransferConnectionRefused(string Peer, string Limit, int Served, long Refused) : KeplerEvent
{
    /// <inheritdoc />
    public override string Kind => "transfer.refused";
}

/// <summary>
/// A served transfer connection from <paramref name="Peer"/>, idle the longest, was closed to make room for a new one
/// at the node's cap (<paramref name="Limit"/> <c>node</c>) or its host's (<c>peer</c>); <paramref name="Evicted"/>
/// counts this incarnation's evictions so far. Its peer finds it closed at its next use and sends that request again
/// on a new connection.
/// </summary>
public sealed record TransferConnectionEvicted(string Peer, string Limit, long Evicted) : KeplerEvent
{
    /// <inheritdoc />
    public override string Kind => "transfer.evicted";
}

/// <summary>A surplus copy (hinted, or left over from a rebalance) was deleted after its grace period.</summary>
public sealed record SurplusDropped(string ChunkId) : KeplerEvent
{
    /// <inheritdoc />
    public override string Kind => "chunk.surplus_dropped";
}

/// <summary>Replication, repair and rebalance progress: what is left, how fast it goes, when it will end.</summary>
public sealed record ReplicationProgress(long ChunksLeft, long BytesLeft, double ChunksPerSecond, long EtaMicroseconds)
    : KeplerEvent
{
    /// <inheritdoc />
    public override string Kind => "replication.progress";
}

/// <summary>The ring changed; the repair scan re-checks every local chunk.</summary>
public sealed record RingChanged(int Members, string Reason) : KeplerEvent
{
    /// <inheritdoc />
    public override string Kind => "ring.changed";
}

/// <summary>Scrub found a corrupt or missing local chunk, and whether it repaired it from a replica.</summary>
public sealed record ScrubFound(string ChunkId, string Status, bool Repaired) : KeplerEvent
{
    /// <inheritdoc />
    public override string Kind => "scrub.found";
}

/// <summary>Garbage collection deleted a chunk no manifest needs.</summary>
public sealed record ChunkCollected(string ChunkId) : KeplerEvent
{
    /// <inheritdoc />
    public override string Kind => "chunk.collected";
}

/// <summary>The orphan collector deleted a chunk of an abandoned write (docs/PROTOCOL.md, "Orphan chunks").</summary>
public sealed record ChunkOrphanCollected(string ChunkId) : KeplerEvent
{
    /// <inheritdoc />
    public override string Kind => "chunk.orphan_collected";
}

/// <summary>Startup recovery failed on an I/O error and will be tried again.</summary>
public sealed record StartRetry(int Attempt, string Reason) : KeplerEvent
{
    /// <inheritdoc />
    public override string Kind => "node.start_retry";
}

/// <summary>
/// The content check startup recovery deferred is done: <paramref name="Checked"/> files, of which
/// <paramref name="Registered"/> were registered, <paramref name="DeletedCorrupt"/> deleted and
/// <paramref name="CorruptKnown"/> known copies found bad.
/// </summary>
public sealed record DeferredVerificationDone(int Checked, int Registered, int DeletedCorrupt, int CorruptKnown)
    : KeplerEvent
{
    /// <inheritdoc />
    public override string Kind => "node.startup_verified";
}

/// <summary>A leaving node finished handing its chunks off (or its hand-off time ran out).</summary>
public sealed record HandoffFinished(long LocalChunks, int LiveMembers, long QueueLeft) : KeplerEvent
{
    /// <inheritdoc />
    public override string Kind => "node.handoff";
}

/// <summary>
/// This node adopted a new cluster-wide replication factor (its operator's change, or a peer's that won by
/// (version, origin)); the ring is rebuilt and the repair scan re-replicates or trims to it.
/// </summary>
public sealed record ReplicationFactorChanged(int ReplicationFactor, long Version, string Origin) : KeplerEvent
{
    /// <inheritdoc />
    public override string Kind => "replication.factor";
}
