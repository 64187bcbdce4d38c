using System.Text.Json.Serialization;

namespace KeplerSim.Core.Node;

/// <summary>
/// The file operations a KeplerFS node offers its clients (the HTTP gateway, the simulator's workload steps).
/// Every method runs on the node's logical thread. Errors: InvalidPathException for a
/// bad path, <see cref="FileNotFoundInClusterException"/>, <see cref="DurabilityNotMetException"/>,
/// <see cref="ChunkUnavailableException"/>, <see cref="Runtime.DiskFullException"/>.
/// </summary>
public interface IFileService
{
    /// <summary>
    /// Stores <paramref name="content"/> at <paramref name="path"/> (streamed: memory does not grow with size)
    /// and returns once <paramref name="durability"/> is met.
    /// </summary>
    Task<FileVersionInfo> PutAsync(string path, Stream content, Durability durability);

    /// <summary>
    /// Writes the current version's bytes (or those of <paramref name="version"/>, a conflict version's token as
    /// listed by <see cref="VersionsAsync"/>), or the range [<paramref name="offset"/>,
    /// <paramref name="offset"/> + <paramref name="length"/>), to <paramref name="destination"/>.
    /// </summary>
    Task<FileVersionInfo> GetAsync(string path, Stream destination, long offset = 0, long? length = null,
        string? version = null);

    /// <summary>The current version's description without its bytes (HEAD).</summary>
    Task<FileVersionInfo> StatAsync(string path);

    /// <summary>Writes a tombstone for <paramref name="path"/>.</summary>
    Task<FileVersionInfo> DeleteAsync(string path, Durability durability);

    /// <summary>
    /// One page of the live paths starting with <paramref name="prefix"/>, ordered by UTF-8 bytes, after the path
    /// <paramref name="after"/> (exclusive; null = from the start), at most <paramref name="limit"/>. The page's
    /// <see cref="FileListing.Next"/> is the cursor for the next page, or null when this page is the last.
    /// </summary>
    Task<FileListing> ListAsync(string prefix, string? after = null, int limit = 1000);

    /// <summary>
    /// The path's winner first, then its conflict versions (concurrent writes that lost), newest first. Versions a
    /// later write superseded are history and not listed.
    /// </summary>
    Task<IReadOnlyList<FileVersionInfo>> VersionsAsync(string path);
}

/// <summary>One page of a listing.</summary>
/// <param name="Files">The live files of the page, in path order.</param>
/// <param name="Next">
/// The cursor for the next page (pass it as <c>after</c>), or null when no live path follows this page.
/// </param>
public sealed record FileListing(IReadOnlyList<FileVersionInfo> Files, string? Next)
{
    /// <summary>True when more paths follow this page.</summary>
    public bool Truncated => Next is not null;
}

/// <summary>What a client learns about one file version.</summary>
public sealed record FileVersionInfo(
    string Path,
    long SizeBytes,
    string ContentId,
    string Version,
    string Origin,
    bool IsTombstone,
    bool IsWinner,
    int ChunkCount)
{
    /// <summary>The version's attributes (an S3 object's metadata), or null when it has none.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyDictionary<string, string>? Attributes { get; init; }
}

/// <summary>No live version of the path exists in the cluster (or none was reachable).</summary>
public sealed class FileNotFoundInClusterException(string path)
    : Exception($"file '{path}' not found")
{
    /// <summary>The path that was asked for.</summary>
    public string Path { get; } = path;
}

/// <summary>
/// The write could not reach its durability in time. Its data is durable on this node and stays queued for
/// replication; the client may retry.
/// </summary>
public sealed class DurabilityNotMetException(string message) : Exception(message);

/// <summary>No replica of a chunk could be read intact.</summary>
public sealed class ChunkUnavailableException(string message) : Exception(message);

/// <summary>An operator's member removal that the membership refuses (the member is alive, unknown, or static).</summary>
public sealed class MemberRemovalRefusedException(string message) : Exception(message);

/// <summary>A runtime replication factor change this node cannot make (static membership: nothing spreads
/// it).</summary>
public sealed class ReplicationFactorRefusedException(string message) : Exception(message);
