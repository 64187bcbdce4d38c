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
