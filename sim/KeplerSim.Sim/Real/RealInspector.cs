using KeplerSim.Core.Storage;
using KeplerSim.Sim.Invariants;
using Microsoft.Data.Sqlite;

namespace KeplerSim.Sim.Real;

/// <summary>
/// Reads a real node's state from outside: its chunk files under DATA_DIR/chunks (tmp excluded), verified as the
/// simulator's <see cref="ClusterInspector"/> verifies them (<see cref="ChunkStore.IdOfFile"/>, with the run's
/// at-rest key), and its <c>meta.db</c> opened read-only through <see cref="MetadataQueries"/>.
/// </summary>
internal sealed class RealInspector(AtRestKey? atRestKey)
{
    private const int IdLength = 64;
    private const string MetadataFile = "meta.db";

    // path -> (length, write time, matches): SHA-256 runs again only when the file changed.
    private readonly Dictionary<string, (long Length, DateTime Written, bool Matches)> _verified =
        new(StringComparer.Ordinal);

    // wait_until polls run beside the timeline's safety checks.
    private readonly Lock _gate = new();

    /// <summary>A chunk file: its path, the id its name claims, whether its content hashes to the id.</summary>
    public readonly record struct ChunkFile(string Path, string Id, bool Matches);

    /// <summary>The chunk files under <paramref name="dataDir"/>, ordered by path.</summary>
    public IReadOnlyList<ChunkFile> ChunkFiles(string dataDir)
    {
        var root = Path.Combine(dataDir, ChunkStore.RootDirectory);
        var tmp = Path.Combine(dataDir, ChunkStore.TmpDirectory) + Path.DirectorySeparatorChar;
        if (!Directory.Exists(root))
        {
            return [];
        }

        var result = new List<ChunkFile>();
        foreach (var path in Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories)
            .Where(f => !f.StartsWith(tmp, StringComparison.Ordinal)).Order(StringComparer.Ordinal))
        {
            var id = Path.GetFileName(path);
            if (id.Length == IdLength && id.All(char.IsAsciiHexDigitLower) && Verify(dataDir, path, id) is { } ok)
            {
                result.Add(new ChunkFile(path, id, ok));
            }
        }

        return result;
    }

    /// <summary>Whether the file holds its id's content and sits where the id puts it; null if it vanished.</summary>
    private bool? Verify(string dataDir, string path, string id)
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
            var matches = ChunkStore.IdOfFile(data, atRestKey, id) == id
                && path == Path.Combine(dataDir, ChunkStore.PathOf(id));
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
    /// Runs a read-only query on the node's metadata; default when it is missing, locked or not KeplerFS's (the
    /// next poll tries again).
    /// </summary>
    public static T? Query<T>(string dataDir, Func<SqliteConnection, T> query)
    {
        ArgumentNullException.ThrowIfNull(query);
        var path = Path.Combine(dataDir, MetadataFile);
        if (!File.Exists(path))
        {
            return default;
        }

        try
        {
            using var connection = new SqliteConnection(new SqliteConnectionStringBuilder
            {
                DataSource = path, Mode = SqliteOpenMode.ReadOnly, Pooling = false, DefaultTimeout = 2,
            }.ToString());
            connection.Open();
            return MetadataQueries.HasKeplerSchema(connection) ? query(connection) : default;
        }
        catch (SqliteException)
        {
            return default;
        }
    }
}
