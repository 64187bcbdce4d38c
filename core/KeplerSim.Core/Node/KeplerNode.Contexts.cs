using KeplerSim.Core.Manifests;
using KeplerSim.Core.Transfer;

namespace KeplerSim.Core.Node;

/// <summary>
/// What each collaborator of the node sees of it: a narrow context per role (the transfer server, the write owner,
/// the background workers), implemented here in one place, so a reader finds what a role may touch and how.
/// </summary>
public sealed partial class KeplerNode
{
    // ---- The transfer server (Transfer/TransferServer.cs) ---------------------------------------------------

    void ITransferServerContext.RecordReceivedChunk(string chunkId, long sizeBytes)
    {
        Meta.TransactionDeferred(meta =>
            RecordLocalChunk(meta, chunkId, sizeBytes, requestId: null, replicate: false));
        _replication?.Kick();
    }

    void ITransferServerContext.ApplyManifest(Manifest manifest) => ApplyManifest(manifest);

    Manifest? ITransferServerContext.WinnerOf(FilePath path) =>
        Meta.GetWinner(path.Value) is { } row ? FromRow(row) : null;
}
