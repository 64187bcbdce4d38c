using KeplerSim.Core.Metadata;
using KeplerSim.Tests.Metadata;

namespace KeplerSim.Tests.Sim;

/// <summary>
/// A simulated crash is a power loss for the metadata too: deferred commits (no WAL fsync) that no durable commit
/// has covered are lost, durable ones stay. Without this the simulator could never catch an acknowledgement that
/// depends on a deferred commit.
/// </summary>
[Trait("Category", "Fast")]
public sealed class SimMetadataTests
{
    private static long ChunksAfterCrash(Action<MetadataStore> work)
    {
        var (sim, node) = SimHarness.OneIdleNode(1);
        using var _ = sim;
        var store = MetadataStore.Open(node.Metadata);
        store.Transaction(s => s.UpsertChunk(Rows.Chunk(Rows.ChunkId("durable"))));
        work(store);
        node.Crash();
        Assert.False(node.Metadata.HasDeferredCommitsAtRisk, "a crash settles every deferred commit");
        using var reopened = MetadataStore.Open(node.Metadata);
        return reopened.CountChunks();
    }

    /// <summary>
    /// The checkers read only the rows a node changed (SimMetadata.Track): a tracker must list every row the node's
    /// connections write, those opened before it too, and after a power loss restored the database (which fires
    /// no update hook) it must say that anything may have changed.
    /// </summary>
    [Fact]
    public void A_row_tracker_lists_the_rows_written_and_everything_after_a_power_loss()
    {
        var (sim, node) = SimHarness.OneIdleNode(1);
        using var _ = sim;
        var store = MetadataStore.Open(node.Metadata);
        var chunks = node.Metadata.Track("chunks");
        Assert.True(chunks.All, "a new tracker has seen nothing: the observer reads the whole table first");
        chunks.Clear();

        store.Transaction(s => s.UpsertChunk(Rows.Chunk(Rows.ChunkId("a"))));
        Assert.False(chunks.All);
        Assert.Single(chunks.Rows);
        chunks.Clear();

        store.TransactionDeferred(s => s.UpsertChunk(Rows.Chunk(Rows.ChunkId("b"))));
        Assert.Single(chunks.Rows);
        node.Crash(); // "b" was deferred: the power loss restores the database from before it.
        Assert.True(chunks.All, "a restore fires no update hook: the tracker must send the observer to the table");
    }

    [Fact]
    public void A_crash_loses_deferred_commits_not_yet_made_durable()
    {
        var count = ChunksAfterCrash(store =>
        {
            store.TransactionDeferred(s => s.UpsertChunk(Rows.Chunk(Rows.ChunkId("a"))));
            store.TransactionDeferred(s => s.UpsertChunk(Rows.Chunk(Rows.ChunkId("b"))));
        });
        Assert.Equal(1L, count);
    }

    [Fact]
    public void MakeDurable_keeps_deferred_commits_through_a_crash()
    {
        var count = ChunksAfterCrash(store =>
        {
            var sequence = store.TransactionDeferred(s => s.UpsertChunk(Rows.Chunk(Rows.ChunkId("a"))));
            store.MakeDurable(sequence);
        });
        Assert.Equal(2L, count);
    }

    [Fact]
    public void A_durable_commit_after_deferred_ones_keeps_them_all()
    {
        var count = ChunksAfterCrash(store =>
        {
            store.TransactionDeferred(s => s.UpsertChunk(Rows.Chunk(Rows.ChunkId("a"))));
            store.Transaction(s => s.UpsertChunk(Rows.Chunk(Rows.ChunkId("b"))));
            store.TransactionDeferred(s => s.UpsertChunk(Rows.Chunk(Rows.ChunkId("c"))));
        });
        Assert.Equal(3L, count); // "c" came after the last durable commit.
    }

    [Fact]
    public void A_failed_deferred_transaction_does_not_roll_back_later_durable_commits()
    {
        var count = ChunksAfterCrash(store =>
        {
            Assert.Throws<InvalidOperationException>(() => store.TransactionDeferred(
                _ => throw new InvalidOperationException("work failed")));
            store.Transaction(s => s.UpsertChunk(Rows.Chunk(Rows.ChunkId("a"))));
        });
        Assert.Equal(2L, count);
    }

    /// <summary>
    /// Regression (chaos seed 8nNcNZTyiIR1): a statement outside a transaction (here the row deletion that precedes
    /// deleting a surplus copy's file) is a durable commit of its own, but was not counted as one, so a crash
    /// rolled it back to before the last deferred commit: the row came back without its file.
    /// </summary>
    [Fact]
    public void A_write_outside_a_transaction_is_durable_with_every_deferred_commit_before_it()
    {
        var count = ChunksAfterCrash(store =>
        {
            store.TransactionDeferred(s => s.UpsertChunk(Rows.Chunk(Rows.ChunkId("a"))));
            store.TransactionDeferred(s => s.UpsertChunk(Rows.Chunk(Rows.ChunkId("b"))));
            Assert.True(store.DeleteChunk(Rows.ChunkId("a")));
        });
        Assert.Equal(2L, count); // "durable" and "b"; "a" stays deleted (was 1: back to before "a" and "b").
    }
}
