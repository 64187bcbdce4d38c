using KeplerSim.Core.Metadata;

namespace KeplerSim.Tests.Metadata;

[Trait("Category", "Fast")]
public sealed class MetadataChunkTests
{
    [Fact]
    public void Upsert_get_update_delete_round_trip()
    {
        using var db = new MemoryDatabase();
        using var store = db.OpenStore();
        var id = Rows.ChunkId("x");
        Assert.Null(store.GetChunk(id));
        store.UpsertChunk(Rows.Chunk(id, state: ChunkState.Hinted));
        Assert.Equal(Rows.Chunk(id, state: ChunkState.Hinted), store.GetChunk(id));

        // A later upsert changes state and path but keeps the first creation time.
        store.UpsertChunk(new StoredChunk(id, 100, "elsewhere", ChunkState.Durable, 9_999, 77));
        Assert.Equal(new StoredChunk(id, 100, "elsewhere", ChunkState.Durable, 1_000, 77), store.GetChunk(id));
        Assert.True(store.MarkChunkVerified(id, 88));
        Assert.Equal(88, store.GetChunk(id)!.VerifiedAtUs);
        Assert.False(store.MarkChunkVerified(Rows.ChunkId("missing"), 1));

        Assert.True(store.DeleteChunk(id));
        Assert.False(store.DeleteChunk(id));
        Assert.Equal(0, store.CountChunks());
    }

    [Fact]
    public void Same_id_with_another_size_is_an_invariant_violation()
    {
        using var db = new MemoryDatabase();
        using var store = db.OpenStore();
        var id = Rows.ChunkId("x");
        store.UpsertChunk(Rows.Chunk(id, size: 10));
        Assert.Throws<KeplerSim.Core.InvariantViolationException>(() => store.UpsertChunk(Rows.Chunk(id, size: 11)));
        Assert.Equal(10, store.GetChunk(id)!.SizeBytes);
    }

    [Fact]
    public void List_is_ordered_by_id_and_pages()
    {
        using var db = new MemoryDatabase();
        using var store = db.OpenStore();
        var ids = Enumerable.Range(0, 25).Select(i => Rows.ChunkId($"c{i}")).ToList();
        foreach (var id in ids)
        {
            store.UpsertChunk(Rows.Chunk(id));
        }

        var expected = ids.Order(StringComparer.Ordinal).ToList();
        var seen = new List<string>();
        string? after = null;
        while (true)
        {
            var page = store.ListChunks(after, limit: 10);
            Assert.InRange(page.Count, 0, 10);
            if (page.Count == 0)
            {
                break;
            }

            seen.AddRange(page.Select(chunk => chunk.Id));
            after = page[^1].Id;
        }

        Assert.Equal(expected, seen);
        Assert.Equal(25, store.CountChunks());
    }

    [Fact]
    public void Bad_arguments_are_refused_before_any_write()
    {
        using var db = new MemoryDatabase();
        using var store = db.OpenStore();
        Assert.Throws<ArgumentException>(() => store.UpsertChunk(Rows.Chunk("") with { Path = "p" }));
        Assert.Throws<ArgumentException>(() => store.UpsertChunk(Rows.Chunk("   ") with { Path = "p" }));
        Assert.Throws<ArgumentOutOfRangeException>(() => store.UpsertChunk(Rows.Chunk(Rows.ChunkId("a"), -1)));
        Assert.Throws<ArgumentException>(() => store.UpsertChunk(Rows.Chunk(Rows.ChunkId("a")) with { Path = "" }));
        Assert.Throws<ArgumentException>(() => store.UpsertChunk(Rows.Chunk(new string('a', 257)) with { Path = "p" }));
        Assert.Throws<ArgumentException>(() => store.UpsertChunk(Rows.Chunk("a\0b") with { Path = "p" }));
        Assert.Throws<ArgumentException>(() => store.UpsertChunk(Rows.Chunk("a\uD800b") with { Path = "p" }));
        Assert.Throws<ArgumentNullException>(() => store.GetChunk(null!));
        Assert.Throws<ArgumentOutOfRangeException>(() => store.ListChunks(limit: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => store.ListChunks(limit: MetadataStore.ListBatchMax + 1));
        Assert.Equal(0, store.CountChunks());
    }

    [Fact]
    public void Quotes_and_sql_in_ids_are_plain_data()
    {
        using var db = new MemoryDatabase();
        using var store = db.OpenStore();
        var id = "x'); DROP TABLE chunks; --";
        store.UpsertChunk(Rows.Chunk(Rows.ChunkId("a")) with { Id = id });
        Assert.Equal(id, store.GetChunk(id)!.Id);
        Assert.Equal(1, store.CountChunks());
    }

    [Fact]
    public void Unreferenced_chunks_exclude_referenced_and_queued_ones()
    {
        using var db = new MemoryDatabase();
        using var store = db.OpenStore();
        string referenced = Rows.ChunkId("referenced"), conflict = Rows.ChunkId("conflict");
        string queued = Rows.ChunkId("queued"), deleted = Rows.ChunkId("deleted"), orphan = Rows.ChunkId("orphan");
        foreach (var id in new[] { referenced, conflict, queued, deleted, orphan })
        {
            store.UpsertChunk(Rows.Chunk(id));
        }

        store.InsertFileVersion(Rows.File("/a", 2, winner: true, referenced, referenced));
        store.InsertFileVersion(Rows.File("/a", 1, winner: false, conflict));
        store.InsertFileVersion(Rows.File("/b", 1, 0, Rows.NodeA, winner: false, tombstone: false, deleted));
        store.InsertFileVersion(Rows.File("/b", 2, 0, Rows.NodeA, winner: true, tombstone: true));
        store.Enqueue(queued, Rows.NodeB, 0);
        Assert.True(store.DeleteFileVersion(Rows.File("/b", 1, winner: false, deleted).Id));

        Assert.Equal(new[] { conflict, referenced }.Order(StringComparer.Ordinal), store.ListReferencedChunkIds());
        Assert.True(store.IsChunkReferenced(referenced));
        Assert.False(store.IsChunkReferenced(deleted));
        var garbage = store.ListUnreferencedChunks().Select(chunk => chunk.Id);
        Assert.Equal(new[] { deleted, orphan }.Order(StringComparer.Ordinal), garbage);
        Assert.Equal(3, db.Scalar("SELECT count(*) FROM chunk_refs"));
    }

    [Fact]
    public void A_chunk_is_kept_by_winners_conflicts_and_history_inside_the_horizon_only()
    {
        // The repair scan's test for garbage an owner must not hand back (RepairScanner.Reconcile,
        // scenarios/regressions/gc-repair-ping-pong.yaml). Every version here was recorded at 5,000 µs.
        using var db = new MemoryDatabase();
        using var store = db.OpenStore();
        string won = Rows.ChunkId("won"), conflicted = Rows.ChunkId("conflicted"), old = Rows.ChunkId("old");
        string deleted = Rows.ChunkId("deleted"), stored = Rows.ChunkId("stored");
        store.InsertFileVersion(Rows.File("/w", 1, winner: true, won));
        store.InsertFileVersion(Rows.File("/c", 1, 0, Rows.NodeB, winner: false, tombstone: false, conflicted));
        var history = Rows.File("/h", 1, winner: false, old);
        store.InsertFileVersion(history);
        store.SetSuperseded(history.Id, true);
        store.InsertFileVersion(Rows.File("/t", 2, 0, Rows.NodeA, winner: true, tombstone: true, deleted));
        store.UpsertChunk(Rows.Chunk(stored)); // Recorded, listed by no version.

        foreach (var horizon in new[] { 0L, 5_000, 5_001, long.MaxValue })
        {
            Assert.True(store.IsChunkKept(won, horizon), $"the winner's chunk at horizon {horizon}");
            Assert.True(store.IsChunkKept(conflicted, horizon), $"the conflict's chunk at horizon {horizon}");
            Assert.False(store.IsChunkKept(deleted, horizon), $"a tombstone's chunk at horizon {horizon}");
            Assert.False(store.IsChunkKept(stored, horizon), $"an unlisted chunk at horizon {horizon}");
        }

        // History keeps its chunk while recorded at or after the horizon, whether or not the collector has run.
        Assert.True(store.IsChunkKept(old, 5_000));
        Assert.False(store.IsChunkKept(old, 5_001));
        Assert.True(store.IsChunkReferenced(old), "the collector has not dropped the history's references yet");
        store.SetSuperseded(history.Id, false); // Superseded no more (a conflict again): kept at any horizon.
        Assert.True(store.IsChunkKept(old, long.MaxValue));
        Assert.Throws<ArgumentException>(() => store.IsChunkKept(" ", 0));
    }
}
