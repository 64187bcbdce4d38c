using KeplerSim.Core;
using KeplerSim.Core.Storage;
using KeplerSim.Tests.Sim;

using static KeplerSim.Tests.Storage.StoreTestKit;

namespace KeplerSim.Tests.Storage;

/// <summary>
/// Streaming writes, chunk ids, the chunk list builder and read results at their edges. Each test names the Stryker
/// survivors (Storage/, 2026-12-06 run; docs/TESTING.md "Mutation testing") it kills, as "original -> mutation".
/// </summary>
[Trait("Category", "Fast")]
public sealed class ChunkWriterContractTests
{
    [Fact]
    public void A_segment_large_enough_for_pure_work_is_hashed_and_committed()
    {
        // Kills in ChunkStoreWriter.cs: "hash.AppendData(segment.Span)" removed from the pure-work branch (the
        // commit would reject the chunk), and "await hashing" removed (the length would count before the hash).
        var (sim, node) = SimHarness.OneIdleNode(41);
        using var _ = sim;
        var (id, data) = MakeChunk(41, ChunkWriter.PureWorkBytesMin + 1000);
        var store = new ChunkStore(node.Runtime!);
        var outcome = Run(sim, node, async _ =>
        {
            await using var writer = await store.BeginWriteAsync(id);
            await writer.AppendAsync(data);
            return await writer.CommitAsync();
        }, "one large segment");
        Assert.Equal(ChunkWriteOutcome.Written, outcome);
        Assert.Equal(data, Run(sim, node, _ => store.ReadAsync(id), "read").Data.ToArray());
    }

    [Fact]
    public void A_failed_commit_or_append_deletes_the_tmp_file_and_closes_the_writer_without_a_dispose()
    {
        // Kills in ChunkStoreWriter.cs: "await AbandonAsync()" removed after a hash mismatch at commit, "Close()"
        // removed from AbandonAsync (the writer would stay usable), and the too-large append's "CountRejected()",
        // "AbandonAsync()", its throw and its size ("LengthBytes + segment.Length -> -") (no test reached them).
        var (sim, node) = SimHarness.OneIdleNode(42);
        using var _ = sim;
        var (id, _) = MakeChunk(42, 3000);
        var other = MakeChunk(43, 3000).Data;
        var store = new ChunkStore(node.Runtime!);
        Run(sim, node, async _ =>
        {
            var writer = await store.BeginWriteAsync(id); // Not disposed: the failure alone must clean up.
            await writer.AppendAsync(other);
            await Assert.ThrowsAsync<ChunkMismatchException>(() => writer.CommitAsync());
            await Assert.ThrowsAsync<ObjectDisposedException>(() => writer.AppendAsync(other));
            return true;
        }, "mismatched commit");
        Assert.Empty(node.Disk.AllFiles());

        var tooLarge = Run(sim, node, async _ =>
        {
            var writer = await store.BeginWriteAsync(id);
            await writer.AppendAsync(other);
            var thrown = await Assert.ThrowsAsync<ChunkTooLargeException>(
                () => writer.AppendAsync(new byte[ChunkStore.ChunkSizeBytesMax]));
            await Assert.ThrowsAsync<ObjectDisposedException>(() => writer.AppendAsync(other));
            return thrown;
        }, "too large a stream");
        Assert.Contains($"{3000L + ChunkStore.ChunkSizeBytesMax} bytes", tooLarge.Message, StringComparison.Ordinal);
        Assert.Empty(node.Disk.AllFiles());
        Assert.Equal(2, store.WritesRejected);
    }

    [Fact]
    public void Chunk_ids_refuse_what_they_cannot_encode_and_say_why()
    {
        // Kills in ChunkId.cs: WriteDigest's invariants (no id, short destination) removed or their messages
        // emptied, FromDigest's message emptied, and the control-character "?" in Validate's message forced off.
        var digestError = Assert.Throws<FormatException>(() => ChunkId.FromDigest(new byte[31]));
        Assert.Contains("32 bytes, got 31", digestError.Message, StringComparison.Ordinal);
        var none = Assert.Throws<InvariantViolationException>(() => default(ChunkId).WriteDigest(new byte[32]));
        Assert.Contains("has no digest", none.Message, StringComparison.Ordinal);
        var id = ChunkId.FromContent([1, 2, 3]);
        var shortDestination = Assert.Throws<InvariantViolationException>(() => id.WriteDigest(new byte[31]));
        Assert.Contains("shorter than 32 bytes", shortDestination.Message, StringComparison.Ordinal);
        Assert.False(ChunkId.TryParse(new string('a', 63) + "\u0001", out _, out var error));
        Assert.Contains("has '?' (U+0001) at index 63", error, StringComparison.Ordinal);
    }

    [Fact]
    public void The_chunk_list_builder_refuses_chunks_out_of_order_empty_after_a_short_one_or_without_an_id()
    {
        // Kills in Chunker.cs: ChunkListBuilder's size check and its Add invariants removed or their messages
        // emptied, and the unreadable-stream message emptied.
        Assert.Throws<ArgumentOutOfRangeException>(() => new ChunkListBuilder(Chunker.ChunkSizeBytesMax + 1));
        var unreadable = Assert.Throws<ArgumentException>(() => new Chunker(4).ChunkAsync(new UnreadableStream()));
        Assert.Contains("not readable", unreadable.Message, StringComparison.Ordinal);
        byte[] full = [1, 2, 3, 4];
        byte[] half = [5, 6];
        Chunk Make(int index, byte[] data) => new(index, index * 4L, ChunkId.FromContent(data), data);

        AssertRefused(b => b.Add(Make(1, full)), "index order");
        AssertRefused(b => b.Add(new Chunk(0, 0, ChunkId.FromContent([]), Array.Empty<byte>())), "never empty");
        AssertRefused(b => b.Add(new Chunk(0, 0, default, full)), "has no id");
        AssertRefused(b =>
        {
            b.Add(Make(0, half));
            b.Add(Make(1, full));
        }, "only the last chunk");
    }

    private static void AssertRefused(Action<ChunkListBuilder> add, string message)
    {
        var refused = Assert.Throws<InvariantViolationException>(() => add(new ChunkListBuilder(4)));
        Assert.Contains(message, refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_read_result_without_bytes_refuses_them_and_a_wrapped_buffer_is_never_pooled()
    {
        // Kills in ChunkStoreResults.cs: TakeBuffer's status check forced off and both messages emptied; in
        // ChunkBuffer.cs: Wrap's null check removed and "pooled: false -> true" (returning a foreign array to the
        // pool throws).
        var data = Assert.Throws<InvalidOperationException>(() => ChunkReadResult.Missing.Data);
        Assert.Contains("chunk read is Missing", data.Message, StringComparison.Ordinal);
        var take = Assert.Throws<InvalidOperationException>(() => ChunkReadResult.Corrupt.TakeBuffer());
        Assert.Contains("chunk read is Corrupt", take.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentNullException>(() => ChunkBuffer.Wrap(null!));
        var wrapped = ChunkBuffer.Wrap([1, 2, 3]);
        wrapped.Dispose();
        Assert.Throws<ObjectDisposedException>(() => wrapped.Data);
    }

    private sealed class UnreadableStream : MemoryStream
    {
        public override bool CanRead => false;
    }
}
