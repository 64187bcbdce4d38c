using KeplerSim.Core.Runtime;
using KeplerSim.Core.Storage;
using KeplerSim.Tests.Sim;

namespace KeplerSim.Tests.Storage;

/// <summary>
/// Reads hand out pooled chunk buffers: the bytes are exact while the result is held, a disposed result can no
/// longer be read (a later read may reuse its array), and disposing twice never returns an array twice.
/// </summary>
[Trait("Category", "Fast")]
public sealed class ChunkBufferTests
{
    [Fact]
    public void A_rented_buffer_is_exactly_its_length_and_unreadable_after_dispose()
    {
        var buffer = ChunkBuffer.Rent(1000);
        Assert.Equal(1000, buffer.Length);
        Assert.Equal(1000, buffer.Data.Length);
        buffer.Dispose();
        Assert.Throws<ObjectDisposedException>(() => buffer.Data);
        buffer.Dispose(); // Twice is harmless: the array went back once.
    }

    [Fact]
    public void Disposing_twice_never_hands_one_array_to_two_renters()
    {
        // Returned twice, the pool would give the same array to the next two renters.
        var buffer = ChunkBuffer.Rent(4 << 20);
        buffer.Dispose();
        buffer.Dispose();
        using var a = ChunkBuffer.Rent(4 << 20);
        using var b = ChunkBuffer.Rent(4 << 20);
        Assert.False(a.Data.Span.Overlaps(b.Data.Span), "two live buffers share one array");
    }

    [Fact]
    public void A_bad_length_is_refused_and_an_empty_buffer_reads_empty()
    {
        // Kills ChunkBuffer.cs:31 (the negative-length check removed: the pool refused it, naming its own argument
        // instead) and 61-62 (Truncate's checks removed: a negative length, or bytes past the chunk, stale bytes of
        // the rented array, exposed as the chunk's).
        var rent = Assert.Throws<ArgumentOutOfRangeException>(() => ChunkBuffer.Rent(-1));
        Assert.Equal("length", rent.ParamName);
        var buffer = ChunkBuffer.Rent(1000);
        Assert.Throws<ArgumentOutOfRangeException>(() => buffer.Truncate(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => buffer.Truncate(1001));
        Assert.Equal(1000, buffer.Data.Length);
        buffer.Truncate(400);
        Assert.Equal(400, buffer.Length);
        Assert.Equal(400, buffer.Data.Length);
        buffer.Dispose();

        var empty = ChunkBuffer.Rent(0);
        Assert.Equal(0, empty.Data.Length);
        empty.Dispose();
        Assert.Throws<ObjectDisposedException>(() => empty.Data);
    }

    [Fact]
    public void Disposing_hands_the_array_back_so_reads_reuse_it()
    {
        // Kills ChunkBuffer.cs:73 (the array never returned) and 32 "length > 0 as < 0" (a rented array marked not
        // pooled): the point of the class is that chunk reads reuse a few arrays. The pool keeps a bounded number
        // per size (a few dozen), so 200 rents of 1 MiB allocate hundreds of MiB when arrays leak, next to nothing
        // when they go back.
        ChunkBuffer.Rent(1 << 20).Dispose(); // Warm the pool: the first rent may allocate.
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 200; i++)
        {
            using var buffer = ChunkBuffer.Rent(1 << 20);
            buffer.Writable.Span[0] = (byte)i;
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated < 8 << 20, $"200 rents of 1 MiB allocated {allocated} bytes: arrays leak");
    }

    [Fact]
    public void A_read_result_gives_its_verified_bytes_until_disposed()
    {
        var (sim, node) = SimHarness.OneIdleNode(41);
        using var _ = sim;
        var store = new ChunkStore(node.Runtime!);
        var data = new byte[300_000];
        new DeterministicRandom(41).NextBytes(data);
        var id = ChunkStore.IdOf(data);
        sim.Await(node.Spawn(_ => store.WriteAsync(id, data)), "the write");

        var read = sim.Await(node.Spawn(_ => store.ReadAsync(id)), "the read");
        Assert.Equal(data, read.Data.ToArray());
        read.Dispose();
        Assert.Throws<ObjectDisposedException>(() => read.Data);

        var range = sim.Await(node.Spawn(_ => store.ReadRangeAsync(id, 1000, 500)), "the range read");
        Assert.Equal(data.AsSpan(1000, 500).ToArray(), range.Data.ToArray());
        range.Dispose(); // A range is a copy: it stays readable after its chunk's buffer went back.
        Assert.Equal(data.AsSpan(1000, 500).ToArray(), range.Data.ToArray());

        var taken = sim.Await(node.Spawn(async _ => (await store.ReadAsync(id)).TakeBuffer()), "read and take");
        using (taken)
        {
            Assert.Equal(data, taken.Data.ToArray());
        }
    }
}
