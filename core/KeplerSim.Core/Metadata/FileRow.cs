using KeplerSim.Core.Runtime;

namespace KeplerSim.Core.Metadata;

/// <summary>
/// A row of <c>files</c>: one immutable version of a file's manifest. A path has at most one winner (its current
/// version); the other rows for that path are conflict versions kept after a split-brain merge. Versions order by
/// (<see cref="VersionWallUs"/>, <see cref="VersionLogical"/>, <see cref="VersionNode"/>).
/// </summary>
/// <param name="Id">The version's id (content id plus version token), opaque text.</param>
/// <param name="Path">The file's path.</param>
/// <param name="SizeBytes">The file's length in bytes.</param>
/// <param name="ChunkIds">The chunk ids in file order; one id may occur many times.</param>
/// <param name="ChunkSizeBytes">The chunk size the file was cut with.</param>
/// <param name="ContentId">The hash of the chunk list, naming the content.</param>
/// <param name="VersionWallUs">Version token: hybrid logical clock wall part, microseconds.</param>
/// <param name="VersionLogical">Version token: hybrid logical clock counter.</param>
/// <param name="VersionNode">Version token: the node that issued it.</param>
/// <param name="OriginNode">The node that accepted the write.</param>
/// <param name="Tombstone">True when this version records a delete.</param>
/// <param name="IsWinner">True for the path's current version, false for a conflict version.</param>
/// <param name="CreatedAtUs">When this node recorded the version, wall microseconds.</param>
/// <param name="Manifest">The version's encoded manifest (it records what the version supersedes).</param>
/// <param name="Superseded">A later version superseded this one: history, not a conflict.</param>
public sealed record FileRow(
    string Id,
    string Path,
    long SizeBytes,
    IReadOnlyList<string> ChunkIds,
    long ChunkSizeBytes,
    string ContentId,
    long VersionWallUs,
    long VersionLogical,
    NodeId VersionNode,
    NodeId OriginNode,
    bool Tombstone,
    bool IsWinner,
    long CreatedAtUs,
    byte[]? Manifest = null,
    bool Superseded = false);
