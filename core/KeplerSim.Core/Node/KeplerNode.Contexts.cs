using KeplerSim.Core.Diagnostics;
using KeplerSim.Core.Manifests;
using KeplerSim.Core.Metadata;
using KeplerSim.Core.Protocol;
using KeplerSim.Core.Replication;
using KeplerSim.Core.Runtime;
using KeplerSim.Core.Storage;
using KeplerSim.Core.Transfer;
using KeplerSim.Core.Write;

namespace KeplerSim.Core.Node;

/// <summary>
/// What each collaborator of the node sees of it: a narrow context per role (the transfer server, the write owner,
/// the background workers), implemented here in one place, so a reader finds what a role may touch and how.
/// </summary>
public sealed partial class KeplerNode
{
    // ---- The transfer server (Transfer/TransferServer.cs); RecordReceivedChunk is in KeplerNode.Write.cs ------

    void ITransferServerContext.ApplyManifest(Manifest manifest) => ApplyManifest(manifest);

    Task ITransferServerContext.ServeSyncAsync(IStreamConnection connection, SyncRequest request) =>
        _antiEntropy.ServeAsync(connection, request);

    Manifest? ITransferServerContext.WinnerOf(FilePath path) =>
        Meta.GetWinner(path.Value) is { } row ? FromRow(row) : null;

    // ---- The write owner (Write/FileWrite.cs); StoreChunkAsync and RecordChunk are in KeplerNode.Write.cs ---

    NodeId IWriteContext.Self => Id;

    IClock IWriteContext.Clock => _runtime.Clock;

    IEventPublisher IWriteContext.Events => _runtime.Events;

    PendingWrites IWriteContext.Pending => _pending;

    UploadBudget IWriteContext.UploadBudget => Uploads;

    IReadOnlyList<NodeId> IWriteContext.OwnersOf(string chunkId) => Ring.OwnersOf(chunkId);

    void IWriteContext.KickReplication() => KickReplication();

    void IWriteContext.MakeDurable(long commitSequence) => Meta.MakeDurable(commitSequence);

    Manifest IWriteContext.NewVersion(FilePath path, ChunkList chunks) =>
        Manifest.Create(path, chunks, Clock.Now(), Id).Superseding(CurrentVersions(path));

    Task IWriteContext.PublishManifestAsync(Manifest manifest, int copiesRequired) =>
        PublishManifestAsync(manifest, copiesRequired);

    // ---- The background workers (Replication/WorkerContexts.cs) -----------------------------------------------

    bool IReplicationContext.IsLive(NodeId node) => Cluster.Find(node) is not null;

    bool IRepairContext.IsLive(NodeId node) => Cluster.Find(node) is not null;

    bool IReplicationContext.OwnsChunk(string chunkId) => OwnsChunk(chunkId);

    Task<bool> IReplicationContext.ReplaceCorruptLocalCopyAsync(string chunkId) =>
        ReplaceCorruptLocalCopyAsync(chunkId);

    Task<bool> IScrubContext.ReplaceCorruptLocalCopyAsync(string chunkId) => ReplaceCorruptLocalCopyAsync(chunkId);

    Task<bool> IReplicationContext.DeleteUnneededAsync(string chunkId) => DeleteUnneededAsync(chunkId);

    NodeId IRepairContext.Self => Id;

    void IRepairContext.KickReplication() => KickReplication();

    bool IGarbageRule.IsOwnedGarbage(MetadataStore meta, string chunkId) =>
        OwnsChunk(chunkId) && !_pending.Contains(chunkId)
        && !meta.IsChunkKept(chunkId, NowMicroseconds - _options.GcGraceMicroseconds);

    void IRepairContext.CopiesConfirmed(string chunkId) => _replication?.NoteConfirmed(chunkId);

    bool IGarbageContext.IsMoving(string chunkId) => IsMoving(chunkId);

    Task<bool> IGarbageContext.DeleteUnneededAsync(string chunkId) => DeleteUnneededAsync(chunkId);

    NodeId IAntiEntropyContext.Self => Id;

    bool IAntiEntropyContext.ApplyManifest(Manifest manifest) => ApplyManifest(manifest);

    void IAntiEntropyContext.OfferChunksOf(NodeId peer, IReadOnlyList<Manifest> lacked) =>
        OfferChunksOf(peer, lacked);
}
