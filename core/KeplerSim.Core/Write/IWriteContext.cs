using KeplerSim.Core.Diagnostics;
using KeplerSim.Core.Manifests;
using KeplerSim.Core.Node;
using KeplerSim.Core.Runtime;
using KeplerSim.Core.Storage;

namespace KeplerSim.Core.Write;

/// <summary>What one <see cref="FileWrite"/> needs from the node that accepted it.</summary>
internal interface IWriteContext
{
    /// <summary>This node.</summary>
    NodeId Self { get; }

    /// <summary>The node's clock (the write timeout).</summary>
    IClock Clock { get; }

    /// <summary>Where the write's acknowledgement is published.</summary>
    IEventPublisher Events { get; }

    /// <summary>Counters for metrics.</summary>
    NodeMetrics Metrics { get; }

    /// <summary>The node-wide budget of upload chunk buffers, shared by every upload.</summary>
    UploadBudget UploadBudget { get; }

    /// <summary>The writes waiting for copies; the replication worker confirms copies there.</summary>
    PendingWrites Pending { get; }

    /// <summary>The chunk's owners on the current ring.</summary>
    IReadOnlyList<NodeId> OwnersOf(string chunkId);

    /// <summary>Hashes the bytes once and writes them durably to the local chunk store; returns their id.</summary>
    Task<ChunkId> StoreChunkAsync(ReadOnlyMemory<byte> data);

    /// <summary>
    /// Records a chunk of this write now durable here (owned, or hinted) and, in the same deferred metadata
    /// commit, queues it for every other owner; returns the commit's sequence for <see cref="MakeDurable"/>.
    /// </summary>
    long RecordChunk(string chunkId, long sizeBytes, string requestId);

    /// <summary>
    /// The write <paramref name="requestId"/> failed or was cut off before its manifest existed: its chunks become
    /// orphans unless something else needs them (docs/PROTOCOL.md, "Orphan chunks").
    /// </summary>
    void AbandonWrite(string requestId, IReadOnlyList<string> chunkIds);

    /// <summary>Lets the replication worker look for due queue entries now.</summary>
    void KickReplication();

    /// <summary>Makes every metadata commit up to <paramref name="commitSequence"/> durable (one WAL fsync).</summary>
    void MakeDurable(long commitSequence);

    /// <summary>A new version of <paramref name="path"/>, superseding the current one.</summary>
    Manifest NewVersion(FilePath path, ChunkList chunks);

    /// <summary>
    /// Records the manifest here and pushes it until <paramref name="copiesRequired"/> nodes (this one included)
    /// hold it: the copies the write's durability promised when it began.
    /// </summary>
    Task PublishManifestAsync(Manifest manifest, int copiesRequired);
}

/// <summary>
/// Pushes a chunk of a write straight from memory to another owner (the replication worker). The outcome arrives as
/// a confirmation in <see cref="IWriteContext.Pending"/>; on failure the chunk's queue entry retries it from disk.
/// </summary>
internal interface IChunkPusher
{
    /// <summary>Pushes <paramref name="data"/> (the chunk's bytes) to <paramref name="owner"/>.</summary>
    Task PushAsync(string chunkId, NodeId owner, ReadOnlyMemory<byte> data);
}
