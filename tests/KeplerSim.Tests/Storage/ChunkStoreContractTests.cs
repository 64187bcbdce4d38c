using KeplerSim.Core;
using KeplerSim.Core.Storage;
using KeplerSim.Tests.Sim;

using static KeplerSim.Tests.Storage.StoreTestKit;

namespace KeplerSim.Tests.Storage;

/// <summary>
/// The chunk store's smaller promises: argument checks, statuses, counters, messages and what a failed write leaves
/// behind. Each test names the Stryker survivors (Storage/, 2026-12-06 run; docs/TESTING.md "Mutation testing")
/// it kills; the mutant is quoted as "original -> mutation".
/// </summary>
[Trait("Category", "Fast")]
public sealed class ChunkStoreContractTests
{
    [Fact]
    public void Confirm_present_and_confirm_durable_answer_true_only_for_the_right_copy()
    {
        // Kills in ChunkStore.Write.cs (no test reached ConfirmPresentAsync / ConfirmDurableAsync): "!= sizeBytes
        // -> == sizeBytes", "!= ChunkStatus.Ok -> == ChunkStatus.Ok", and each "return false/true" flipped.
        var (sim, node) = SimHarness.OneIdleNode(31);
        using var _ = sim;
        var (id, data) = MakeChunk(31, 5000);
        var store = new ChunkStore(node.Runtime!);
        Assert.False(Run(sim, node, _ => store.ConfirmPresentAsync(id, data.Length), "present, missing"));
        Assert.False(Run(sim, node, _ => store.ConfirmDurableAsync(id), "durable, missing"));

        Run(sim, node, _ => store.WriteAsync(id, data), "write");
        Assert.True(Run(sim, node, _ => store.ConfirmPresentAsync(id, data.Length), "present"));
        Assert.False(Run(sim, node, _ => store.ConfirmPresentAsync(id, data.Length + 1), "present, wrong size"));
        Assert.True(Run(sim, node, _ => store.ConfirmDurableAsync(id), "durable"));

        Assert.True(node.Disk.Corrupt(ChunkStore.PathOf(id)));
        Assert.False(Run(sim, node, _ => store.ConfirmDurableAsync(id), "durable, corrupt"));
    }

    [Fact]
    public void Range_reads_check_their_arguments_by_name_and_report_corruption()
    {
        // Kills in ChunkStore.cs: ThrowIfNegative(offset) and ThrowIfNegative(length) removed (the slice would
        // throw too, but naming neither argument), "offset + length -> offset - length" in the range check and in
        // its message, the range check's throw removed, and "Missing ? Missing : Corrupt" forced to Corrupt... or
        // to Missing for a corrupt chunk.
        var (sim, node) = SimHarness.OneIdleNode(32);
        using var _ = sim;
        var (id, data) = MakeChunk(32, 100_000);
        var store = new ChunkStore(node.Runtime!);
        Run(sim, node, _ => store.WriteAsync(id, data), "write");

        var offset = Assert.Throws<ArgumentOutOfRangeException>(
            () => Run(sim, node, _ => store.ReadRangeAsync(id, -1, 10), "negative offset"));
        Assert.Equal("offset", offset.ParamName);
        var length = Assert.Throws<ArgumentOutOfRangeException>(
            () => Run(sim, node, _ => store.ReadRangeAsync(id, 10, -1), "negative length"));
        Assert.Equal("length", length.ParamName);
        var past = Assert.Throws<ArgumentOutOfRangeException>(
            () => Run(sim, node, _ => store.ReadRangeAsync(id, 70_001, 30_000), "range past the end"));
        Assert.Equal("length", past.ParamName);
        Assert.Contains("range [70001, 100001) is outside chunk", past.Message, StringComparison.Ordinal);

        Assert.Equal(ChunkStatus.Missing,
            Run(sim, node, _ => store.ReadRangeAsync(MakeChunk(33, 10).Id, 0, 1), "range of a missing chunk").Status);
        Assert.True(node.Disk.Corrupt(ChunkStore.PathOf(id)));
        Assert.Equal(ChunkStatus.Corrupt, Run(sim, node, _ => store.ReadRangeAsync(id, 0, 1), "corrupt range").Status);
    }

    [Fact]
    public void Counters_and_messages_say_what_happened()
    {
        var (sim, node) = SimHarness.OneIdleNode(34);
        using var _ = sim;
        var (id, data) = MakeChunk(34, 700);
        var store = new ChunkStore(node.Runtime!);
        Run(sim, node, _ => store.WriteAsync(id, data), "write");
        Assert.True(Run(sim, node, _ => store.DeleteAsync(id), "delete"));
        Assert.Equal(1, store.ChunksDeleted); // Kills "ChunksDeleted++" removed or as "--".

        // Kills IsValidId's "return false" for null or a wrong length as "return true".
        Assert.False(ChunkStore.IsValidId(null));
        Assert.False(ChunkStore.IsValidId(id[..63]));
        var bad = Assert.Throws<ArgumentException>(() => ChunkStore.PathOf("xyz"));
        Assert.Contains("'xyz' is not a chunk id", bad.Message, StringComparison.Ordinal); // Kills the message as "".

        // Kills in RequireSize: "WritesRejected++" removed or as "--", and its throw removed (the second size check
        // behind it would count the rejection twice).
        var big = new byte[ChunkStore.ChunkSizeBytesMax + 1];
        var tooLarge = Assert.Throws<ChunkTooLargeException>(
            () => Run(sim, node, _ => store.WriteAsync(ChunkStore.IdOf(big), big), "oversized write"));
        Assert.Equal(1, store.WritesRejected);
        Assert.Contains($"{big.Length} bytes exceeds the maximum of {ChunkStore.ChunkSizeBytesMax}", tooLarge.Message,
            StringComparison.Ordinal);
    }

    [Fact]
    public void Recovery_skips_directories_that_are_not_shards_or_tmp_files_and_refuses_to_run_during_a_write()
    {
        // Kills in ChunkStore.cs WalkAsync: the "continue" past a non-shard directory inside a shard level removed
        // (its file would be listed as a stray); in ChunkStore.Recovery.cs: the "continue" past a directory in the
        // tmp directory removed (it would be deleted as a leftover), and the invariant that no write is open.
        var (sim, node) = SimHarness.OneIdleNode(35);
        using var _ = sim;
        var (id, data) = MakeChunk(35, 900);
        var shard = ChunkStore.PathOf(id)[..^65];
        var store = new ChunkStore(node.Runtime!);
        var report = Run(sim, node, async rt =>
        {
            await store.WriteAsync(id, data);
            await rt.Disk.CreateDirectoryAsync(shard[..^3] + "/zz");
            await using (var file = await rt.Disk.CreateAsync(shard[..^3] + "/zz/" + id))
            {
                await file.AppendAsync(data);
            }

            await rt.Disk.CreateDirectoryAsync(ChunkStore.TmpDirectory + "/keep");
            return await new ChunkStore(rt).RecoverAsync(new MemoryChunkIndex());
        }, "recovery");
        Assert.Equal([id], report.Registered);
        Assert.Empty(report.StrayFiles);
        Assert.Empty(report.TmpFilesRemoved);
        Assert.Equal([id], Run(sim, node, _ => store.ListAsync(), "list"));

        var open = Assert.Throws<InvariantViolationException>(() => Run(sim, node, async _ =>
        {
            await using var writer = await store.BeginWriteAsync(id);
            return await store.RecoverAsync(new MemoryChunkIndex());
        }, "recovery during a write"));
        Assert.Contains("before any write", open.Message, StringComparison.Ordinal);
    }
}
