using System.Diagnostics.CodeAnalysis;
using KeplerSim.Core.Storage;
using KeplerSim.Sim.Invariants;
using Microsoft.Data.Sqlite;

namespace KeplerSim.Sim.Real;

/// <summary>
/// Reads a real node's state from outside, for <see cref="RealCheckedNode"/>: its chunk files under DATA_DIR/chunks
/// (named by <see cref="ChunkFile.IdOf"/>, the simulator's rule), verified as the simulator's
/// <see cref="ClusterInspector"/> verifies them (<see cref="ChunkStore.IdOfFile"/>, with the run's at-rest key),
/// and its <c>meta.db</c> opened read-only for <see cref="MetadataQueries"/>. What differs from the simulator's is
/// only how a real disk is read: files on the host's file system, cached by length and write time.
/// </summary>
internal sealed class RealInspector(AtRestKey? atRestKey)
{
    private const string MetadataFile = "meta.db";

    // path -> (length, write time, matches): SHA-256 runs again only when the file changed.
    private readonly Dictionary<string, (long Length, DateTime Written, bool Matches)> _verified =
        new(StringComparer.Ordinal);

    // wait_until polls run beside the timeline's safety checks.
    private readonly Lock _gate = new();

    /// <summary>The chunk files under <paramref name="dataDir"/> (absolute paths), ordered by path.</summary>
    public IReadOnlyList<ChunkFile> ChunkFiles(string dataDir)
    {
        var root = Path.Combine(dataDir, ChunkStore.RootDirectory);
        if (!Directory.Exists(root))
        {
            return [];
        }

        var result = new List<ChunkFile>();
        foreach (var path in Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories)
            .Order(StringComparer.Ordinal))
        {
            var relative = Path.GetRelativePath(dataDir, path).Replace(Path.DirectorySeparatorChar, '/');
            if (ChunkFile.IdOf(relative) is { } id && Verify(path, id) is { } ok)
            {
                result.Add(new ChunkFile(path, id, ok && ChunkFile.InShard(relative, id)));
            }
        }

        return result;
    }

    /// <summary>Whether <paramref name="dataDir"/> holds chunk <paramref name="id"/> at its path with content that
    /// hashes to the id (false when it is missing or vanishes while read).</summary>
    public bool HoldsIntact(string dataDir, string id) =>
        Verify(Path.Combine(dataDir, ChunkStore.PathOf(id)), id) == true;

    /// <summary>Whether the file holds its id's content; null if it vanished.</summary>
    private bool? Verify(string path, string id)
    {
        try
        {
            var info = new FileInfo(path);
            lock (_gate)
            {
                if (_verified.TryGetValue(path, out var cached) && cached.Length == info.Length
                    && cached.Written == info.LastWriteTimeUtc)
                {
                    return cached.Matches;
                }
            }

            var data = File.ReadAllBytes(path);
            var matches = ChunkStore.IdOfFile(data, atRestKey, id) == id;
            lock (_gate)
            {
                _verified[path] = (info.Length, info.LastWriteTimeUtc, matches);
            }

            return matches;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null; // Renamed or removed right now; the next poll sees it.
        }
    }

    /// <summary>Forgets a file's verification (a fault touched it).</summary>
    public void Invalidate(string path)
    {
        lock (_gate)
        {
            _verified.Remove(path);
        }
    }

    /// <summary>
    /// Runs a read-only query on the node's metadata; false when it is missing, locked or not KeplerFS's (the next
    /// poll tries again).
    /// </summary>
    public static bool TryQuery<T>(string dataDir, Func<SqliteConnection, T> query,
        [MaybeNullWhen(false)] out T result)
    {
        ArgumentNullException.ThrowIfNull(query);
        result = default;
        var path = Path.Combine(dataDir, MetadataFile);
        if (!File.Exists(path))
        {
            return false;
        }

        try
        {
            using var connection = new SqliteConnection(new SqliteConnectionStringBuilder
            {
                DataSource = path, Mode = SqliteOpenMode.ReadOnly, Pooling = false, DefaultTimeout = 2,
            }.ToString());
            connection.Open();
            if (!MetadataQueries.HasKeplerSchema(connection))
            {
                return false;
            }

            result = query(connection);
            return true;
        }
        catch (SqliteException)
        {
            return false;
        }
    }
}
