using KeplerSim.Core.Metadata;

namespace KeplerSim.Tests.Metadata;

[Trait("Category", "Fast")]
public sealed class MetadataQueueTests
{
    private static readonly string ChunkA = Rows.ChunkId("a");
    private static readonly string ChunkB = Rows.ChunkId("b");

    [Fact]
    public void Enqueue_is_idempotent()
    {
        using var db = new MemoryDatabase();
        using var store = db.OpenStore();
        Assert.True(store.Enqueue(ChunkA, Rows.NodeB, 100));
        Assert.True(store.RecordQueueAttempt(ChunkA, Rows.NodeB, 100, 500));

        // Queued again by a write: the attempt count stays, it gets the request, it becomes due sooner.
        Assert.False(store.Enqueue(ChunkA, Rows.NodeB, 200, "request-1"));
        Assert.Equal(new QueueEntry(ChunkA, Rows.NodeB, 1, 100, 200, "request-1"),
            store.GetQueueEntry(ChunkA, Rows.NodeB));

        // A later enqueue never delays the entry nor steals it from the first request.
        Assert.False(store.Enqueue(ChunkA, Rows.NodeB, 900, "request-2"));
        Assert.Equal(new QueueEntry(ChunkA, Rows.NodeB, 1, 100, 200, "request-1"),
            store.GetQueueEntry(ChunkA, Rows.NodeB));
        Assert.Equal(1, store.CountQueue());
    }

    [Fact]
    public void Queued_chunks_count_each_chunk_once_whatever_its_targets()
    {
        using var db = new MemoryDatabase();
        using var store = db.OpenStore();
        Assert.Equal(0, store.CountQueuedChunks());
        store.Enqueue(ChunkA, Rows.NodeB, 10);
        store.Enqueue(ChunkA, Rows.NodeC, 10);
        store.Enqueue(ChunkB, Rows.NodeC, 10);
        Assert.Equal(3, store.CountQueue());
        Assert.Equal(2, store.CountQueuedChunks());
        store.RemoveQueueEntry(ChunkB, Rows.NodeC);
        Assert.Equal(1, store.CountQueuedChunks());
    }

    [Fact]
    public void Due_entries_are_ordered_by_time_then_chunk_then_target_and_limited()
    {
        using var db = new MemoryDatabase();
        using var store = db.OpenStore();
        var (low, high) = string.CompareOrdinal(ChunkA, ChunkB) < 0 ? (ChunkA, ChunkB) : (ChunkB, ChunkA);
        store.Enqueue(high, Rows.NodeC, 10);
        store.Enqueue(high, Rows.NodeB, 10);
        store.Enqueue(low, Rows.NodeC, 10);
        store.Enqueue(low, Rows.NodeB, 20);
        store.Enqueue(low, Rows.NodeA, 5);
        store.Enqueue(high, Rows.NodeA, 30);

        var due = store.DueQueueEntries(20);
        Assert.Equal(
            [(low, Rows.NodeA), (low, Rows.NodeC), (high, Rows.NodeB), (high, Rows.NodeC), (low, Rows.NodeB)],
            due.Select(entry => (entry.ChunkId, entry.Target)));
        Assert.Equal(2, store.DueQueueEntries(20, limit: 2).Count);
        Assert.Empty(store.DueQueueEntries(4));
        Assert.Equal(6, store.DueQueueEntries(long.MaxValue).Count);
        Assert.Throws<ArgumentOutOfRangeException>(() => store.DueQueueEntries(0, limit: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => store.DueQueueEntries(0, MetadataStore.QueueBatchMax + 1));
    }

    [Fact]
    public void Attempts_push_entries_back_and_remove_ends_them()
    {
        using var db = new MemoryDatabase();
        using var store = db.OpenStore();
        store.Enqueue(ChunkA, Rows.NodeB, 0);
        store.Enqueue(ChunkB, Rows.NodeB, 0);
        Assert.True(store.RecordQueueAttempt(ChunkA, Rows.NodeB, 10, 1_000));
        Assert.True(store.RecordQueueAttempt(ChunkA, Rows.NodeB, 1_000, 3_000));
        Assert.Equal(new QueueEntry(ChunkA, Rows.NodeB, 2, 1_000, 3_000, null),
            store.GetQueueEntry(ChunkA, Rows.NodeB));
        Assert.Equal([ChunkB], store.DueQueueEntries(2_999).Select(entry => entry.ChunkId));
        Assert.Throws<ArgumentOutOfRangeException>(() => store.RecordQueueAttempt(ChunkA, Rows.NodeB, 10, 9));
        Assert.False(store.RecordQueueAttempt(ChunkA, Rows.NodeC, 10, 20));

        Assert.True(store.RemoveQueueEntry(ChunkA, Rows.NodeB));
        Assert.False(store.RemoveQueueEntry(ChunkA, Rows.NodeB));
        Assert.Null(store.GetQueueEntry(ChunkA, Rows.NodeB));
        Assert.Equal(1, store.CountQueue());
    }

    [Fact]
    public void Entries_for_a_request_are_listed_and_counted()
    {
        using var db = new MemoryDatabase();
        using var store = db.OpenStore();
        store.Transaction(s =>
        {
            s.Enqueue(ChunkB, Rows.NodeC, 0, "w1");
            s.Enqueue(ChunkB, Rows.NodeB, 0, "w1");
            s.Enqueue(ChunkA, Rows.NodeB, 0, "w1");
            s.Enqueue(ChunkA, Rows.NodeC, 0, "w2");
            s.Enqueue(ChunkA, Rows.NodeA, 0);
        });
        var expected = new[] { (ChunkA, Rows.NodeB), (ChunkB, Rows.NodeB), (ChunkB, Rows.NodeC) }
            .OrderBy(pair => pair.Item1, StringComparer.Ordinal).ThenBy(pair => pair.Item2).ToList();
        Assert.Equal(expected, store.QueueEntriesForRequest("w1").Select(entry => (entry.ChunkId, entry.Target)));
        Assert.Equal(3, store.CountQueueForRequest("w1"));
        Assert.Equal(1, store.CountQueueForRequest("w2"));
        Assert.Equal(0, store.CountQueueForRequest("w3"));
        store.RemoveQueueEntry(ChunkB, Rows.NodeC);
        Assert.Equal(2, store.CountQueueForRequest("w1"));
    }

    [Fact]
    public void Bad_queue_arguments_are_refused()
    {
        using var db = new MemoryDatabase();
        using var store = db.OpenStore();
        Assert.Throws<ArgumentException>(() => store.Enqueue("", Rows.NodeB, 0));
        Assert.Throws<ArgumentException>(() => store.Enqueue(ChunkA, new KeplerSim.Core.Runtime.NodeId(""), 0));
        Assert.Throws<ArgumentNullException>(() => store.Enqueue(ChunkA, default, 0));
        Assert.Throws<ArgumentException>(() => store.Enqueue(ChunkA, Rows.NodeB, 0, " "));
        Assert.Equal(0, store.CountQueue());
    }
}
