using KeplerSim.Core.Metadata;

namespace KeplerSim.Tests.Metadata;

[Trait("Category", "Fast")]
public sealed class MetadataTransactionTests
{
    private static readonly string ChunkA = Rows.ChunkId("a");
    private static readonly string ChunkB = Rows.ChunkId("b");

    [Fact]
    public void Crash_with_an_open_transaction_keeps_committed_data_only()
    {
        using var db = new MemoryDatabase();
        var connection = db.Open();
        var store = new MetadataStore(connection);
        store.Transaction(s =>
        {
            s.UpsertChunk(Rows.Chunk(ChunkA));
            s.Enqueue(ChunkA, Rows.NodeB, 10, "request-1");
        });

        // The write path records "chunk B stored + replicate it" and crashes before committing.
        var open = store.BeginTransaction();
        store.UpsertChunk(Rows.Chunk(ChunkB, state: ChunkState.Hinted));
        store.Enqueue(ChunkB, Rows.NodeB, 10, "request-2");
        store.Enqueue(ChunkB, Rows.NodeC, 10, "request-2");
        store.InsertFileVersion(Rows.File("/f", 1, winner: true, ChunkB));
        Assert.Equal(3, store.CountQueue());
        connection.Dispose();

        using var reopened = db.OpenStore();
        Assert.Equal([ChunkA], reopened.ListChunks().Select(chunk => chunk.Id));
        Assert.Equal(1, reopened.CountQueue());
        Assert.NotNull(reopened.GetQueueEntry(ChunkA, Rows.NodeB));
        Assert.Null(reopened.GetWinner("/f"));
        Assert.Equal(0, reopened.CountQueueForRequest("request-2"));
        // The dead store's transaction can still be disposed without harm.
        open.Dispose();
    }

    [Fact]
    public void Transaction_disposed_without_commit_leaves_nothing()
    {
        using var db = new MemoryDatabase();
        using var store = db.OpenStore();
        using (store.BeginTransaction())
        {
            store.UpsertChunk(Rows.Chunk(ChunkA));
            store.Enqueue(ChunkA, Rows.NodeB, 0);
        }

        Assert.False(store.InTransaction);
        Assert.Equal(0, store.CountChunks());
        Assert.Equal(0, store.CountQueue());
    }

    [Fact]
    public void Transaction_helper_rolls_back_when_the_work_throws()
    {
        using var db = new MemoryDatabase();
        using var store = db.OpenStore();
        Assert.Throws<InvalidOperationException>(() => store.Transaction(s =>
        {
            s.UpsertChunk(Rows.Chunk(ChunkA));
            throw new InvalidOperationException("decided to fail");
        }));
        Assert.Equal(0, store.CountChunks());

        var count = store.Transaction(s =>
        {
            s.UpsertChunk(Rows.Chunk(ChunkA));
            return s.CountChunks();
        });
        Assert.Equal(1, count);
        using var other = db.OpenStore();
        Assert.Equal(1, other.CountChunks());
    }

    [Fact]
    public void Transactions_do_not_nest_and_end_once()
    {
        using var db = new MemoryDatabase();
        using var store = db.OpenStore();
        var transaction = store.BeginTransaction();
        Assert.True(store.InTransaction);
        Assert.Throws<InvalidOperationException>(() => store.BeginTransaction());
        transaction.Commit();
        Assert.False(store.InTransaction);
        Assert.Throws<InvalidOperationException>(() => transaction.Commit());
        transaction.Dispose();
        using var next = store.BeginTransaction();
        next.Commit();
    }

    [Fact]
    public void Failed_operation_inside_a_transaction_leaves_no_partial_rows()
    {
        using var db = new MemoryDatabase();
        using var store = db.OpenStore();
        store.UpsertChunk(Rows.Chunk(ChunkA, size: 100));
        var oldWinner = Rows.File("/f", 1, winner: true, ChunkA);
        store.InsertFileVersion(oldWinner);
        // Fail the insert of the second chunk reference: after the old winner was demoted and the file row written.
        db.Execute("CREATE TRIGGER inject BEFORE INSERT ON chunk_refs WHEN NEW.idx = 1 " +
            "BEGIN SELECT RAISE(ABORT, 'injected fault'); END");
        using (var transaction = store.BeginTransaction())
        {
            store.UpsertChunk(Rows.Chunk(ChunkB));
            var error = Assert.Throws<Microsoft.Data.Sqlite.SqliteException>(() =>
                store.InsertFileVersion(Rows.File("/f", 2, winner: true, ChunkA, ChunkB)));
            Assert.Contains("injected fault", error.Message);
            Assert.Throws<KeplerSim.Core.InvariantViolationException>(() =>
                store.UpsertChunk(Rows.Chunk(ChunkA, size: 101)));
            transaction.Commit();
        }

        Assert.Equal(2, store.CountChunks());
        Assert.Equal(100, store.GetChunk(ChunkA)!.SizeBytes);
        Assert.Equal(oldWinner.Id, store.GetWinner("/f")!.Id);
        Assert.Single(store.ListFileVersions("/f"));
        Assert.Equal(1, db.Scalar("SELECT count(*) FROM chunk_refs"));
    }
}
