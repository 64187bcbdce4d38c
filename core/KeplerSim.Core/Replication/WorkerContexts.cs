using KeplerSim.Core.Manifests;
using KeplerSim.Core.Metadata;
using KeplerSim.Core.Node;
using KeplerSim.Core.Ring;
using KeplerSim.Core.Runtime;
using KeplerSim.Core.Storage;

namespace KeplerSim.Core.Replication;

/// <summary>The node's local chunks: their files and their records. What every background worker reads.</summary>
internal interface ILocalChunks
{
    /// <summary>The local chunk files.</summary>
    ChunkStore Store { get; }

    /// <summary>The node's metadata (chunk records, the replication queue).</summary>
    MetadataStore Meta { get; }
}

/// <summary>
/// The rule the <see cref="RepairScanner"/> (before it offers or queues a copy) and the <see cref="ReplicationWorker"/>
/// (before it delivers a repair or rebalance entry) share: an owner does not repair garbage (docs/PROTOCOL.md,
/// "Batched repair offers").
/// </summary>
internal interface IGarbageRule
{
    /// <summary>
    /// Whether <paramref name="chunkId"/> is an owner's copy of garbage, not to be sent: this node owns it on the
    /// current ring, no write in flight here is storing it, and no version this node keeps at the node's wall clock
    /// now lists it (<see cref="MetadataStore.IsChunkKept"/>: history past its gc grace counts as garbage already,
    /// not only once the collector's next run has dropped its references). Each owner's copy of garbage waits out
    /// its own gc grace where it is. What stays sendable: a write in flight here (its chunks still reach the owners
    /// a ring change made: split-brain.yaml, a quorum write waiting out the other side's death); a hinted copy,
    /// whatever it holds (sending it is how it is handed over and then dropped: one-way-partition.yaml, a copy left
    /// on a former owner before its manifest arrived; the owners it reaches do not offer it on); a client write's
    /// queue entry (the caller's to exempt). An owner's copy whose manifest is still on its way is garbage here
    /// until the manifest arrives, and waits for it: its writer holds the chunk and delivers it.
    /// </summary>
    bool IsOwnedGarbage(MetadataStore meta, string chunkId);
}

/// <summary>What the <see cref="ReplicationWorker"/> needs from its node.</summary>
internal interface IReplicationContext : ILocalChunks, IGarbageRule
{
    /// <summary>Counters for metrics.</summary>
    NodeMetrics Metrics { get; }

    /// <summary>The placement ring now.</summary>
    HashRing Ring { get; }

    /// <summary>Whether this node owns the chunk on the current ring.</summary>
    bool OwnsChunk(string chunkId);

    /// <summary>Whether <paramref name="node"/> is in the live ring (a target worth sending to).</summary>
    bool IsLive(NodeId node);

    /// <summary>Restores a corrupt local copy from a peer (or drops it); whether it was restored.</summary>
    Task<bool> ReplaceCorruptLocalCopyAsync(string chunkId);

    /// <summary>Deletes a copy no one needs here (a surplus copy), row then file, with stores and offers of it held
    /// off meanwhile, as the garbage collector does; whether anything was deleted.</summary>
    Task<bool> DeleteUnneededAsync(string chunkId);
}

/// <summary>What the <see cref="RepairScanner"/> needs from its node.</summary>
internal interface IRepairContext : ILocalChunks, IGarbageRule
{
    /// <summary>This node.</summary>
    NodeId Self { get; }

    /// <summary>The placement ring now.</summary>
    HashRing Ring { get; }

    /// <summary>Whether <paramref name="node"/> is in the live ring.</summary>
    bool IsLive(NodeId node);

    /// <summary>Lets the replication worker look for the entries a scan queued.</summary>
    void KickReplication();

    /// <summary>Counters for metrics.</summary>
    NodeMetrics Metrics { get; }

    /// <summary>
    /// A batched offer found <paramref name="chunkId"/> held by an owner, with nothing queued for it: a hinted copy
    /// every owner has now confirmed becomes surplus (as after its last queued delivery).
    /// </summary>
    void CopiesConfirmed(string chunkId);
}

/// <summary>What the <see cref="Scrubber"/> needs from its node.</summary>
internal interface IScrubContext : ILocalChunks
{
    /// <summary>Client uploads and downloads running now (scrub slows down while there are any).</summary>
    int ClientTransfersInFlight { get; }

    /// <summary>Restores a corrupt local copy from a peer (or drops it); whether it was restored.</summary>
    Task<bool> ReplaceCorruptLocalCopyAsync(string chunkId);
}

/// <summary>What the <see cref="GarbageCollector"/> needs from its node.</summary>
internal interface IGarbageContext : ILocalChunks
{
    /// <summary>Whether a transfer (incoming, queued outgoing, a write in progress) involves the chunk.</summary>
    bool IsMoving(string chunkId);

    /// <summary>Deletes a chunk no one needs, row then file, with stores of it held off meanwhile; whether
    /// anything was deleted.</summary>
    Task<bool> DeleteUnneededAsync(string chunkId);
}

/// <summary>What <see cref="AntiEntropy"/> needs from its node.</summary>
internal interface IAntiEntropyContext
{
    /// <summary>This node.</summary>
    NodeId Self { get; }

    /// <summary>The node's metadata (the manifest versions).</summary>
    MetadataStore Meta { get; }

    /// <summary>The live members (a round picks one of the others).</summary>
    ClusterView Cluster { get; }

    /// <summary>Records a manifest version a peer sent (the digest learns it through <c>TrackVersion</c>).</summary>
    bool ApplyManifest(Manifest manifest);

    /// <summary>Queues, for <paramref name="peer"/>, the chunks it owns of winning versions it lacked.</summary>
    void OfferChunksOf(NodeId peer, IReadOnlyList<Manifest> lacked);
}
