using KeplerSim.Core.Storage;
using KeplerSim.Tests.Sim;

using static KeplerSim.Tests.Storage.StoreTestKit;

namespace KeplerSim.Tests.Storage;

/// <summary>
/// Startup recovery with deferred content (issue 18: /ready waited for a read and hash of the whole store): what
/// recovery left unread is never vouched for by its size alone.
/// </summary>
[Trait("Category", "Fast")]
public sealed class DeferredRecoveryTests
{
    private const int SizeBytes = 20_000;

    [Fact]
    public void A_chunk_recovery_left_unread_is_hashed_before_an_offer_counts_it()
    {
        var (sim, node) = SimHarness.OneIdleNode(23);
        using var _ = sim;
        var (good, goodData) = MakeChunk(1, SizeBytes);
        var (bad, badData) = MakeChunk(2, SizeBytes);
        var index = new MemoryChunkIndex();
        var store = new ChunkStore(node.Runtime!);
        Run(sim, node, async _ =>
        {
            await store.RecoverAsync(index);
            await store.WriteAsync(good, goodData);
            return await store.WriteAsync(bad, badData);
        }, "write two chunks");
        index.MarkPresent(good, SizeBytes);
        index.MarkPresent(bad, SizeBytes);
        Assert.True(node.Disk.Corrupt(ChunkStore.PathOf(bad)), "a bit flipped while the node was down");

        var restarted = new ChunkStore(node.Runtime!);
        var report = Run(sim, node, _ => restarted.RecoverAsync(index, deferContent: true), "recover");
        Assert.Equal(2, report.Deferred);
        Assert.Equal(0, report.ChunksVerified); // Nothing was read before /ready.
        Assert.Empty(report.CorruptKnown);
        Assert.True(restarted.IsDeferred(bad));

        // Same size on disk as on record, yet the corrupt copy is not confirmed: an unread copy is hashed first.
        Assert.False(Run(sim, node, _ => restarted.ConfirmPresentAsync(bad, SizeBytes), "offer of the bad copy"));
        Assert.True(Run(sim, node, _ => restarted.ConfirmPresentAsync(good, SizeBytes), "offer of the good copy"));
        Assert.False(restarted.IsDeferred(good), "a copy verified by the offer is no longer deferred");
        Assert.True(restarted.IsDeferred(bad), "a corrupt copy stays unvouched until the check replaces it");

        // The deferred check hands over both, in the walk's order, once.
        var (chunks, _) = restarted.TakeDeferred();
        Assert.Equal([(bad, true)], chunks);
        Assert.Empty(restarted.TakeDeferred().Chunks);
    }
}
