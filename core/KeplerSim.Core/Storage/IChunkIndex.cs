namespace KeplerSim.Core.Storage;

/// <summary>
/// What the chunk store needs from the node's metadata (the SQLite <c>chunks</c> table): which chunks the node
/// believes it holds, and a way to correct that belief during <see cref="ChunkStore.RecoverAsync"/>. Calls are
/// synchronous because the metadata database is local and runs on the node's logical thread. Ids are 64 lowercase
/// hex characters (SHA-256).
/// </summary>
public interface IChunkIndex
{
    /// <summary>The ids the index records as stored on this node, in any order.</summary>
    IReadOnlyList<string> KnownChunks();

    /// <summary>Records that chunk <paramref name="id"/> (<paramref name="sizeBytes"/> bytes) is stored here.</summary>
    void MarkPresent(string id, long sizeBytes);

    /// <summary>
    /// Records that chunk <paramref name="id"/> is no longer stored locally (missing or corrupt on disk), so that
    /// replication can copy it back from a replica.
    /// </summary>
    void MarkMissing(string id);
}
