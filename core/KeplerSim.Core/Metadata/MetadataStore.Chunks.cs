using Microsoft.Data.Sqlite;

namespace KeplerSim.Core.Metadata;

public sealed partial class MetadataStore
{
    private const string ChunkColumns = "id, size, path, state, created_at, verified_at";

    /// <summary>
    /// Records a chunk on disk, or updates its path, state and verification time; the first
    /// <see cref="StoredChunk.CreatedAtUs"/> is kept. A chunk id names its content, so a different size for a known
    /// id is a bug and throws <see cref="InvariantViolationException"/>.
    /// </summary>
    public void UpsertChunk(StoredChunk chunk)
    {
        ArgumentNullException.ThrowIfNull(chunk);
        Check.Id(chunk.Id, nameof(chunk));
        Check.NonNegative(chunk.SizeBytes, nameof(chunk));
        Check.Path(chunk.Path, nameof(chunk));

        var changed = _chunkSql.Upsert.NonQuery(chunk.Id, chunk.SizeBytes, chunk.Path, StateText(chunk.State),
            chunk.CreatedAtUs, chunk.VerifiedAtUs);
        Invariant.That(changed == 1, $"chunk {chunk.Id} is recorded with the size it already had");
    }

    /// <summary>Returns the chunk's row, or null when this node does not record it.</summary>
    public StoredChunk? GetChunk(string id)
    {
        Check.Id(id, nameof(id));
        return _chunkSql.Get.Single(ReadChunk, id);
    }

    /// <summary>Records that scrub verified the chunk at <paramref name="verifiedAtUs"/>; false if unknown.</summary>
    public bool MarkChunkVerified(string id, long verifiedAtUs)
    {
        Check.Id(id, nameof(id));
        return _chunkSql.MarkVerified.NonQuery(id, verifiedAtUs) == 1;
    }

    /// <summary>Forgets a chunk; false when it was not recorded. Its replication entries are not touched.</summary>
    public bool DeleteChunk(string id)
    {
        Check.Id(id, nameof(id));
        return _chunkSql.Delete.NonQuery(id) == 1;
    }

    /// <summary>
    /// Lists recorded chunks ordered by id (ordinal on UTF-8 bytes), starting after <paramref name="afterId"/>
    /// (null: from the start), at most <paramref name="limit"/> of them.
    /// </summary>
    public IReadOnlyList<StoredChunk> ListChunks(string? afterId = null, int limit = ListBatchMax)
    {
        Check.Limit(limit, ListBatchMax, nameof(limit));
        return _chunkSql.List.Rows(ReadChunk, limit, afterId ?? string.Empty, limit);
    }

    /// <summary>How many chunks this node records.</summary>
    public long CountChunks() => _chunkSql.Count.ScalarInt64();

    /// <summary>Distinct chunks some non-tombstone file version (winner, conflict or kept history) lists.</summary>
    public long CountReferencedChunks() => _chunkSql.CountReferenced.ScalarInt64();

    /// <summary>True when any non-tombstone file version (winner or conflict) lists the chunk.</summary>
    public bool IsChunkReferenced(string id)
    {
        Check.Id(id, nameof(id));
        return _chunkSql.IsReferenced.ScalarInt64(id) == 1;
    }

    /// <summary>
    /// True when a version the garbage collector keeps at <paramref name="historyHorizonUs"/> lists the chunk: a
    /// non-tombstone winner or conflict, or superseded history this node recorded at or after the horizon (older
    /// history only waits for the collector's next run to give up its references).
    /// </summary>
    public bool IsChunkKept(string id, long historyHorizonUs)
    {
        Check.Id(id, nameof(id));
        return _chunkSql.IsKept.ScalarInt64(id, historyHorizonUs) == 1;
    }

    /// <summary>
    /// Chunk ids listed by any non-tombstone file version (winner or conflict), distinct, ordered by id, starting
    /// after <paramref name="afterId"/>. Chunks a manifest lists need not be stored on this node.
    /// </summary>
    public IReadOnlyList<string> ListReferencedChunkIds(string? afterId = null, int limit = ListBatchMax)
    {
        Check.Limit(limit, ListBatchMax, nameof(limit));
        return _chunkSql.ListReferenced.Rows(reader => reader.GetString(0), limit, afterId ?? string.Empty, limit);
    }

    /// <summary>
    /// Garbage candidates: recorded chunks that no non-tombstone file version lists and that no replication entry
    /// still has to send, ordered by id. The caller applies the grace period (see
    /// <see cref="StoredChunk.CreatedAtUs"/>): a chunk written before its manifest arrives looks unreferenced.
    /// </summary>
    public IReadOnlyList<StoredChunk> ListUnreferencedChunks(string? afterId = null, int limit = ListBatchMax)
    {
        Check.Limit(limit, ListBatchMax, nameof(limit));
        return _chunkSql.ListUnreferenced.Rows(ReadChunk, limit, afterId ?? string.Empty, limit);
    }

    private static StoredChunk ReadChunk(SqliteDataReader reader) => new(
        reader.GetString(0),
        reader.GetInt64(1),
        reader.GetString(2),
        ParseState(reader.GetString(3)),
        reader.GetInt64(4),
        reader.IsDBNull(5) ? null : reader.GetInt64(5));

    private static string StateText(ChunkState state) => state switch
    {
        ChunkState.Durable => "durable",
        ChunkState.Hinted => "hinted",
        _ => throw new ArgumentOutOfRangeException(nameof(state), state, "unknown chunk state"),
    };

    private static ChunkState ParseState(string text) => text switch
    {
        "durable" => ChunkState.Durable,
        "hinted" => ChunkState.Hinted,
        _ => throw new InvariantViolationException($"chunks.state holds unknown value '{text}'"),
    };

    private sealed class ChunkSql(Func<string, string[], Statement> prepare)
    {
        // The WHERE on the update turns a size change into "0 rows changed", which the caller reports.
        public Statement Upsert { get; } = prepare(
            $"INSERT INTO chunks({ChunkColumns}) VALUES ($id, $size, $path, $state, $created, $verified) " +
            "ON CONFLICT(id) DO UPDATE SET path = excluded.path, state = excluded.state, " +
            "verified_at = coalesce(excluded.verified_at, verified_at) WHERE size = excluded.size",
            ["$id", "$size", "$path", "$state", "$created", "$verified"]);

        public Statement Get { get; } = prepare($"SELECT {ChunkColumns} FROM chunks WHERE id = $id", ["$id"]);

        public Statement MarkVerified { get; } = prepare(
            "UPDATE chunks SET verified_at = $at WHERE id = $id", ["$id", "$at"]);

        public Statement Delete { get; } = prepare("DELETE FROM chunks WHERE id = $id", ["$id"]);

        public Statement List { get; } = prepare(
            $"SELECT {ChunkColumns} FROM chunks WHERE id > $after ORDER BY id LIMIT $limit", ["$after", "$limit"]);

        public Statement Count { get; } = prepare("SELECT count(*) FROM chunks", []);

        public Statement IsReferenced { get; } = prepare(
            "SELECT EXISTS (SELECT 1 FROM chunk_refs r JOIN files f ON f.id = r.file_id " +
            "WHERE r.chunk_id = $id AND f.tombstone = 0)", ["$id"]);

        public Statement IsKept { get; } = prepare(
            "SELECT EXISTS (SELECT 1 FROM chunk_refs r JOIN files f ON f.id = r.file_id " +
            "WHERE r.chunk_id = $id AND f.tombstone = 0 " +
            "AND NOT (f.superseded = 1 AND f.is_winner = 0 AND f.created_at < $before))", ["$id", "$before"]);

        public Statement ListReferenced { get; } = prepare(
            "SELECT DISTINCT r.chunk_id FROM chunk_refs r JOIN files f ON f.id = r.file_id " +
            "WHERE r.chunk_id > $after AND f.tombstone = 0 ORDER BY r.chunk_id LIMIT $limit", ["$after", "$limit"]);

        public Statement CountReferenced { get; } = prepare(
            "SELECT count(DISTINCT r.chunk_id) FROM chunk_refs r JOIN files f ON f.id = r.file_id WHERE f.tombstone = 0",
            []);

        public Statement ListUnreferenced { get; } = prepare(
            $"SELECT {ChunkColumns} FROM chunks c WHERE c.id > $after " +
            "AND NOT EXISTS (SELECT 1 FROM chunk_refs r JOIN files f ON f.id = r.file_id " +
            "WHERE r.chunk_id = c.id AND f.tombstone = 0) " +
            "AND NOT EXISTS (SELECT 1 FROM replication_queue q WHERE q.chunk_id = c.id) " +
            "ORDER BY c.id LIMIT $limit", ["$after", "$limit"]);
    }
}
