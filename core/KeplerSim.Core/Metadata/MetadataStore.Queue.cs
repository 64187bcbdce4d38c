using KeplerSim.Core.Runtime;
using Microsoft.Data.Sqlite;

namespace KeplerSim.Core.Metadata;

public sealed partial class MetadataStore
{
    private const string QueueColumns =
        "chunk_id, target_node_id, attempts, last_attempt, next_attempt_at, request_id";

    /// <summary>
    /// Queues a copy of a chunk to a target; true when the entry is new. Queuing an entry that exists is
    /// idempotent: its attempts are kept, it becomes due no later than <paramref name="nextAttemptAtUs"/>, and it
    /// takes <paramref name="requestId"/> only if it had no request. Enqueue in the same transaction as the decision
    /// (for example with the chunk's <see cref="UpsertChunk"/>) so a crash keeps both or neither. Admission against a
    /// queue depth limit is the caller's, using <see cref="CountQueue"/>.
    /// </summary>
    public bool Enqueue(string chunkId, NodeId target, long nextAttemptAtUs, string? requestId = null)
    {
        Check.Id(chunkId, nameof(chunkId));
        Check.Node(target, nameof(target));
        if (requestId is not null)
        {
            Check.Id(requestId, nameof(requestId));
        }

        var inserted = false;
        Atomically(() =>
        {
            inserted = _queueSql.Insert.NonQuery(chunkId, target.Value, nextAttemptAtUs, requestId) == 1;
            if (!inserted)
            {
                _queueSql.Merge.NonQuery(chunkId, target.Value, nextAttemptAtUs, requestId);
            }
        });
        return inserted;
    }

    /// <summary>
    /// Makes an existing entry due no later than <paramref name="nextAttemptAtUs"/> (as <see cref="Enqueue"/> does to
    /// an entry that exists); false, changing nothing, when there is no entry for the chunk and target.
    /// </summary>
    public bool Expedite(string chunkId, NodeId target, long nextAttemptAtUs)
    {
        Check.Id(chunkId, nameof(chunkId));
        Check.Node(target, nameof(target));
        return _queueSql.Merge.NonQuery(chunkId, target.Value, nextAttemptAtUs, null) == 1;
    }

    /// <summary>
    /// Entries due at <paramref name="nowUs"/> (next attempt at or before it), ordered by (next attempt, chunk id,
    /// target), at most <paramref name="limit"/>.
    /// </summary>
    public IReadOnlyList<QueueEntry> DueQueueEntries(long nowUs, int limit = QueueBatchMax)
    {
        Check.Limit(limit, QueueBatchMax, nameof(limit));
        return _queueSql.Due.Rows(ReadQueueEntry, limit, nowUs, limit);
    }

    /// <summary>The earliest next attempt time of any queue entry (µs), or null when the queue is empty.</summary>
    public long? NextQueueAttemptAt()
    {
        var next = _queueSql.NextAttempt.ScalarInt64();
        return next == long.MinValue ? null : next;
    }

    /// <summary>Returns one entry, or null.</summary>
    public QueueEntry? GetQueueEntry(string chunkId, NodeId target)
    {
        Check.Id(chunkId, nameof(chunkId));
        Check.Node(target, nameof(target));
        return _queueSql.Get.Single(ReadQueueEntry, chunkId, target.Value);
    }

    /// <summary>
    /// Records a failed or pending send: attempts + 1, last attempt at <paramref name="attemptedAtUs"/>, due again
    /// at <paramref name="nextAttemptAtUs"/> (the caller's backoff). False when the entry is gone.
    /// </summary>
    public bool RecordQueueAttempt(string chunkId, NodeId target, long attemptedAtUs, long nextAttemptAtUs)
    {
        Check.Id(chunkId, nameof(chunkId));
        Check.Node(target, nameof(target));
        if (nextAttemptAtUs < attemptedAtUs)
        {
            throw new ArgumentOutOfRangeException(nameof(nextAttemptAtUs), nextAttemptAtUs,
                "the next attempt must not be before the attempt just made");
        }

        return _queueSql.Attempt.NonQuery(chunkId, target.Value, attemptedAtUs, nextAttemptAtUs) == 1;
    }

    /// <summary>Removes an entry once the target confirmed the copy; false when it was not queued.</summary>
    public bool RemoveQueueEntry(string chunkId, NodeId target)
    {
        Check.Id(chunkId, nameof(chunkId));
        Check.Node(target, nameof(target));
        return _queueSql.Remove.NonQuery(chunkId, target.Value) == 1;
    }

    /// <summary>Removes the entries of <paramref name="chunkId"/> that write <paramref name="requestId"/> queued;
    /// returns how many.</summary>
    public int RemoveQueueEntriesOfRequest(string chunkId, string requestId)
    {
        Check.Id(chunkId, nameof(chunkId));
        Check.Id(requestId, nameof(requestId));
        return _queueSql.RemoveForRequest.NonQuery(chunkId, requestId);
    }

    /// <summary>Whether any entry still has to send <paramref name="chunkId"/>.</summary>
    public bool IsChunkQueued(string chunkId)
    {
        Check.Id(chunkId, nameof(chunkId));
        return _queueSql.ChunkQueued.ScalarInt64(chunkId) == 1;
    }

    /// <summary>How many entries are queued.</summary>
    public long CountQueue() => _queueSql.Count.ScalarInt64();

    /// <summary>
    /// Distinct chunks with a copy still to deliver: the chunks this node knows to be under-replicated (each
    /// entry of the primary-key index is visited once; the queue is bounded).
    /// </summary>
    public long CountQueuedChunks() => _queueSql.CountChunks.ScalarInt64();

    /// <summary>Bytes waiting in the queue: the size of each queued chunk once per target (0 for unknown chunks).</summary>
    public long QueueBytes() => _queueSql.Bytes.ScalarInt64();

    /// <summary>How many entries the write <paramref name="requestId"/> still waits on.</summary>
    public long CountQueueForRequest(string requestId)
    {
        Check.Id(requestId, nameof(requestId));
        return _queueSql.CountForRequest.ScalarInt64(requestId);
    }

    /// <summary>Entries the write <paramref name="requestId"/> waits on, ordered by (chunk id, target).</summary>
    public IReadOnlyList<QueueEntry> QueueEntriesForRequest(string requestId, int limit = QueueBatchMax)
    {
        Check.Id(requestId, nameof(requestId));
        Check.Limit(limit, QueueBatchMax, nameof(limit));
        return _queueSql.ForRequest.Rows(ReadQueueEntry, limit, requestId, limit);
    }

    /// <summary>
    /// Chunks with a copy still to deliver, after <paramref name="afterId"/> (exclusive), ordered by id, each with
    /// the targets still waiting for it (ordered), at most <paramref name="limit"/> chunks.
    /// </summary>
    public IReadOnlyList<(string ChunkId, IReadOnlyList<NodeId> Targets)> ListQueuedChunks(string? afterId = null,
        int limit = QueueBatchMax)
    {
        Check.Limit(limit, QueueBatchMax, nameof(limit));
        return _queueSql.ByChunk.Rows(reader => (reader.GetString(0),
            (IReadOnlyList<NodeId>)reader.GetString(1).Split('\n').Order(StringComparer.Ordinal)
                .Select(t => new NodeId(t)).ToList()), limit, afterId ?? string.Empty, limit);
    }

    private static QueueEntry ReadQueueEntry(SqliteDataReader reader) => new(
        reader.GetString(0),
        new NodeId(reader.GetString(1)),
        reader.GetInt32(2),
        reader.IsDBNull(3) ? null : reader.GetInt64(3),
        reader.GetInt64(4),
        reader.IsDBNull(5) ? null : reader.GetString(5));

    private sealed class QueueSql(Func<string, string[], Statement> prepare)
    {
        public Statement Insert { get; } = prepare(
            $"INSERT INTO replication_queue({QueueColumns}) VALUES ($chunk, $target, 0, NULL, $next, $request) " +
            "ON CONFLICT(chunk_id, target_node_id) DO NOTHING", ["$chunk", "$target", "$next", "$request"]);

        public Statement Merge { get; } = prepare(
            "UPDATE replication_queue SET next_attempt_at = min(next_attempt_at, $next), " +
            "request_id = coalesce(request_id, $request) WHERE chunk_id = $chunk AND target_node_id = $target",
            ["$chunk", "$target", "$next", "$request"]);

        public Statement Due { get; } = prepare(
            $"SELECT {QueueColumns} FROM replication_queue WHERE next_attempt_at <= $now " +
            "ORDER BY next_attempt_at, chunk_id, target_node_id LIMIT $limit", ["$now", "$limit"]);

        // The queue_due index makes this one index probe.
        public Statement NextAttempt { get; } = prepare(
            "SELECT coalesce(min(next_attempt_at), -9223372036854775808) FROM replication_queue", []);

        public Statement Get { get; } = prepare(
            $"SELECT {QueueColumns} FROM replication_queue WHERE chunk_id = $chunk AND target_node_id = $target",
            ["$chunk", "$target"]);

        public Statement Attempt { get; } = prepare(
            "UPDATE replication_queue SET attempts = attempts + 1, last_attempt = $at, next_attempt_at = $next " +
            "WHERE chunk_id = $chunk AND target_node_id = $target", ["$chunk", "$target", "$at", "$next"]);

        public Statement Remove { get; } = prepare(
            "DELETE FROM replication_queue WHERE chunk_id = $chunk AND target_node_id = $target",
            ["$chunk", "$target"]);

        public Statement Count { get; } = prepare("SELECT count(*) FROM replication_queue", []);

        public Statement RemoveForRequest { get; } = prepare(
            "DELETE FROM replication_queue WHERE chunk_id = $chunk AND request_id = $request", ["$chunk", "$request"]);

        public Statement ChunkQueued { get; } = prepare(
            "SELECT EXISTS (SELECT 1 FROM replication_queue WHERE chunk_id = $chunk)", ["$chunk"]);

        // Node ids cannot contain a newline (Check.Node), so it separates the targets.
        public Statement ByChunk { get; } = prepare(
            "SELECT chunk_id, group_concat(target_node_id, char(10)) FROM replication_queue WHERE chunk_id > $after " +
            "GROUP BY chunk_id ORDER BY chunk_id LIMIT $limit", ["$after", "$limit"]);

        public Statement CountChunks { get; } =
            prepare("SELECT count(DISTINCT chunk_id) FROM replication_queue", []);

        public Statement Bytes { get; } = prepare(
            "SELECT coalesce(sum(c.size), 0) FROM replication_queue q JOIN chunks c ON c.id = q.chunk_id", []);

        public Statement CountForRequest { get; } = prepare(
            "SELECT count(*) FROM replication_queue WHERE request_id = $request", ["$request"]);

        public Statement ForRequest { get; } = prepare(
            $"SELECT {QueueColumns} FROM replication_queue WHERE request_id = $request " +
            "ORDER BY chunk_id, target_node_id LIMIT $limit", ["$request", "$limit"]);
    }
}
