using KeplerSim.Core.Manifests;
using KeplerSim.Core.Runtime;
using Microsoft.Data.Sqlite;

namespace KeplerSim.Sim.Invariants;

/// <summary>
/// The checkers' read-only queries of a node's SQLite metadata, over any open connection: a simulated node's
/// inspection connection or a real node's <c>meta.db</c> opened read-only (real mode). Each throws
/// <see cref="SqliteException"/> when the database is locked or not KeplerFS's; callers treat that as "busy".
/// </summary>
public static class MetadataQueries
{
    /// <summary>Whether the database has the KeplerFS tables.</summary>
    public static bool HasKeplerSchema(SqliteConnection connection) => Scalar(connection,
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN " +
        "('files', 'chunk_refs', 'replication_queue')") == 3;

    /// <summary>Entries in the replication queue.</summary>
    public static long QueueDepth(SqliteConnection connection) =>
        Scalar(connection, "SELECT count(*) FROM replication_queue");

    /// <summary>Chunk ids referenced by live versions (winners and conflict versions, not tombstones), ordered.
    /// </summary>
    public static IReadOnlyList<string> ReferencedChunks(SqliteConnection connection) => Strings(connection,
        "SELECT DISTINCT r.chunk_id FROM chunk_refs r JOIN files f ON f.id = r.file_id " +
        "WHERE (f.is_winner = 1 OR f.superseded = 0) AND f.tombstone = 0 ORDER BY r.chunk_id");

    /// <summary>Each path's winning version token, ordered by path.</summary>
    public static IReadOnlyList<(string Path, VersionToken Version)> WinningVersions(SqliteConnection connection) =>
        Versions(connection, "WHERE is_winner = 1 ");

    /// <summary>The winning version token of each path among the <c>files</c> rows <paramref name="rowids"/> (rows
    /// no longer there, or not winners, are left out), ordered by path.</summary>
    public static IReadOnlyList<(string Path, VersionToken Version)> WinningVersionsOfRows(
        SqliteConnection connection, IEnumerable<long> rowids) =>
        Versions(connection, $"WHERE is_winner = 1 AND rowid IN ({RowList(rowids)}) ");

    /// <summary>The <c>chunks</c> table's (rowid, id) pairs: all, or those of <paramref name="rowids"/> still
    /// there.</summary>
    public static IReadOnlyList<(long Row, string Id)> ChunkRows(SqliteConnection connection,
        IEnumerable<long>? rowids = null)
    {
        ArgumentNullException.ThrowIfNull(connection);
        using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT rowid, id FROM chunks" + (rowids is null ? "" : $" WHERE rowid IN ({RowList(rowids)})");
        using var reader = cmd.ExecuteReader();
        var rows = new List<(long, string)>();
        while (reader.Read())
        {
            rows.Add((reader.GetInt64(0), reader.GetString(1)));
        }

        return rows;
    }

    private static string RowList(IEnumerable<long> rowids) =>
        string.Join(',', rowids.Select(r => r.ToString(System.Globalization.CultureInfo.InvariantCulture)));

    /// <summary>Every recorded version (winner, conflict or history) of every path, ordered by path and token.
    /// </summary>
    public static IReadOnlyList<(string Path, VersionToken Version)> AllVersions(SqliteConnection connection) =>
        Versions(connection, "");

    private static List<(string Path, VersionToken Version)> Versions(SqliteConnection connection, string where)
    {
        ArgumentNullException.ThrowIfNull(connection);
        using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT path, version_wall_us, version_logical, version_node FROM files " + where +
            "ORDER BY path, version_wall_us, version_logical, version_node";
        using var reader = cmd.ExecuteReader();
        var rows = new List<(string, VersionToken)>();
        while (reader.Read())
        {
            rows.Add((reader.GetString(0), new VersionToken(reader.GetInt64(1), reader.GetInt32(2),
                new NodeId(reader.GetString(3)))));
        }

        return rows;
    }

    /// <summary>The chunk ids (in file order) of the path's winning version; empty if none.</summary>
    public static IReadOnlyList<string> WinnerChunks(SqliteConnection connection, string path)
    {
        ArgumentNullException.ThrowIfNull(connection);
        using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT r.chunk_id FROM files f JOIN chunk_refs r ON r.file_id = f.id " +
            "WHERE f.path = $p AND f.is_winner = 1 ORDER BY r.idx";
        cmd.Parameters.AddWithValue("$p", path);
        using var reader = cmd.ExecuteReader();
        var ids = new List<string>();
        while (reader.Read())
        {
            ids.Add(reader.GetString(0));
        }

        return ids;
    }

    /// <summary>
    /// Garbage collection should have removed by <paramref name="horizonMicroseconds"/> (node wall time): superseded
    /// non-winning versions recorded before it that still hold chunk references, and chunks recorded before it that
    /// no live version references and no queue entry names. Ordered.
    /// </summary>
    public static IReadOnlyList<string> UncollectedGarbage(SqliteConnection connection, long horizonMicroseconds)
    {
        ArgumentNullException.ThrowIfNull(connection);
        using var cmd = connection.CreateCommand();
        cmd.CommandText =
            "SELECT 'history ' || f.path || ' ' || f.id FROM files f WHERE f.superseded = 1 AND f.is_winner = 0 " +
            "AND f.created_at < $h AND EXISTS (SELECT 1 FROM chunk_refs r WHERE r.file_id = f.id) " +
            "UNION ALL SELECT 'chunk ' || c.id FROM chunks c WHERE c.created_at < $h " +
            "AND NOT EXISTS (SELECT 1 FROM chunk_refs r JOIN files f ON f.id = r.file_id " +
            "WHERE r.chunk_id = c.id AND f.tombstone = 0) " +
            "AND NOT EXISTS (SELECT 1 FROM replication_queue q WHERE q.chunk_id = c.id) ORDER BY 1";
        cmd.Parameters.AddWithValue("$h", horizonMicroseconds);
        using var reader = cmd.ExecuteReader();
        var rows = new List<string>();
        while (reader.Read())
        {
            rows.Add(reader.GetString(0));
        }

        return rows;
    }

    /// <summary>Whether <paramref name="version"/> of <paramref name="path"/> is recorded (winner or not), and the
    /// path's winning token.</summary>
    public static (bool Kept, VersionToken? Winner) VersionState(SqliteConnection connection, string path,
        VersionToken version)
    {
        ArgumentNullException.ThrowIfNull(connection);
        using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT version_wall_us, version_logical, version_node, is_winner FROM files WHERE path = $p";
        cmd.Parameters.AddWithValue("$p", path);
        using var reader = cmd.ExecuteReader();
        var (kept, winner) = (false, (VersionToken?)null);
        while (reader.Read())
        {
            var token = new VersionToken(reader.GetInt64(0), reader.GetInt32(1), new NodeId(reader.GetString(2)));
            kept |= token == version;
            winner = reader.GetInt64(3) == 1 ? token : winner;
        }

        return (kept, winner);
    }

    /// <summary>The chunk ids (in file order) of <paramref name="version"/> of <paramref name="path"/>; null if the
    /// version is not recorded.</summary>
    public static IReadOnlyList<string>? VersionChunks(SqliteConnection connection, string path,
        VersionToken version)
    {
        ArgumentNullException.ThrowIfNull(connection);
        using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT f.id, r.chunk_id FROM files f LEFT JOIN chunk_refs r ON r.file_id = f.id " +
            "WHERE f.path = $p AND f.version_wall_us = $w AND f.version_logical = $l AND f.version_node = $n " +
            "ORDER BY r.idx";
        AddVersion(cmd, path, version);
        using var reader = cmd.ExecuteReader();
        List<string>? ids = null;
        while (reader.Read())
        {
            ids ??= [];
            if (!reader.IsDBNull(1))
            {
                ids.Add(reader.GetString(1));
            }
        }

        return ids;
    }

    /// <summary>Whether <paramref name="version"/> of <paramref name="path"/> is recorded (winner or not).</summary>
    public static bool RecordsVersion(SqliteConnection connection, string path, VersionToken version)
    {
        ArgumentNullException.ThrowIfNull(connection);
        using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT count(*) FROM files WHERE path = $p AND version_wall_us = $w " +
            "AND version_logical = $l AND version_node = $n";
        AddVersion(cmd, path, version);
        return (long)cmd.ExecuteScalar()! > 0;
    }

    /// <summary>The winning version token of <paramref name="path"/>; null if none.</summary>
    public static VersionToken? WinnerOf(SqliteConnection connection, string path)
    {
        ArgumentNullException.ThrowIfNull(connection);
        using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT version_wall_us, version_logical, version_node FROM files " +
            "WHERE path = $p AND is_winner = 1";
        cmd.Parameters.AddWithValue("$p", path);
        using var reader = cmd.ExecuteReader();
        return reader.Read()
            ? new VersionToken(reader.GetInt64(0), reader.GetInt32(1), new NodeId(reader.GetString(2)))
            : null;
    }

    /// <summary>Whether the <c>chunks</c> table records <paramref name="id"/>.</summary>
    public static bool IndexesChunk(SqliteConnection connection, string id)
    {
        ArgumentNullException.ThrowIfNull(connection);
        using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT count(*) FROM chunks WHERE id = $id";
        cmd.Parameters.AddWithValue("$id", id);
        return (long)cmd.ExecuteScalar()! > 0;
    }

    /// <summary>The <c>chunks</c> table's state of <paramref name="id"/> (<c>durable</c>: an owner's copy,
    /// <c>hinted</c>: a copy held for its owners), or null when it records none.</summary>
    public static string? ChunkState(SqliteConnection connection, string id)
    {
        ArgumentNullException.ThrowIfNull(connection);
        using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT state FROM chunks WHERE id = $id";
        cmd.Parameters.AddWithValue("$id", id);
        return cmd.ExecuteScalar() as string;
    }

    private static void AddVersion(SqliteCommand cmd, string path, VersionToken version)
    {
        cmd.Parameters.AddWithValue("$p", path);
        cmd.Parameters.AddWithValue("$w", version.WallMicroseconds);
        cmd.Parameters.AddWithValue("$l", version.Logical);
        cmd.Parameters.AddWithValue("$n", version.Node.Value);
    }

    /// <summary>Chunk ids the <c>chunks</c> table counts as held on this node, ordered.</summary>
    public static IReadOnlyList<string> IndexedChunks(SqliteConnection connection) =>
        Strings(connection, "SELECT id FROM chunks ORDER BY id");

    /// <summary>The runtime replication factor setting's text (empty: none).</summary>
    public static string HeldSettings(SqliteConnection connection) => Strings(connection,
        "SELECT coalesce((SELECT value FROM meta WHERE key = 'cluster.settings'), '')")[0];

    private static long Scalar(SqliteConnection connection, string sql)
    {
        ArgumentNullException.ThrowIfNull(connection);
        using var cmd = connection.CreateCommand();
        cmd.CommandText = sql;
        return (long)cmd.ExecuteScalar()!;
    }

    private static List<string> Strings(SqliteConnection connection, string sql)
    {
        ArgumentNullException.ThrowIfNull(connection);
        using var cmd = connection.CreateCommand();
        cmd.CommandText = sql;
        using var reader = cmd.ExecuteReader();
        var rows = new List<string>();
        while (reader.Read())
        {
            rows.Add(reader.GetString(0));
        }

        return rows;
    }
}
