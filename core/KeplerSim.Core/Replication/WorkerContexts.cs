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

/// <summary>What the <see cref="ReplicationWorker"/> needs from its node.</summary>
internal interface IReplicationContext : ILocalChunks
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
}

/// <summary>What the <see cref="RepairScanner"/> needs from its node.</summary>
internal interface IRepairContext : ILocalChunks
{
    /// <summary>This node.</summary>
    NodeId Self { get; }

    /// <summary>The placement ring now.</summary>
    HashRing Ring { get; }

    /// <summary>Whether <paramref name="node"/> is in the live ring.</summary>
    bool IsLive(NodeId node);

    /// <summary>Lets the replication worker look for the entries a scan queued.</summary>
    void KickReplication();

    /// <summary>Whether a write in flight here waits for copies of <paramref name="chunkId"/> (its manifest does
    /// not exist yet).</summary>
    bool IsWriting(string chunkId);

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
