using KeplerSim.Core.Runtime;
using KeplerSim.Core.Storage;
using KeplerSim.Sim.Kernel;
using KeplerSim.Tests.Sim;

namespace KeplerSim.Tests.Storage;

/// <summary>Pure work that runs inline, like the simulator's, and counts how often it ran.</summary>
internal sealed class CountingPureWork : IPureWork
{
    public int Runs { get; private set; }

    public Task<T> RunAsync<T>(Func<T> work)
    {
        Runs++;
        return InlinePureWork.Instance.RunAsync(work);
    }

    /// <summary>How many of <see cref="Runs"/> were two-stage pipelines (a sealed chunk decrypted, hashed).</summary>
    public int Pipelines { get; private set; }

    public Task<bool> RunPipelineAsync(int stages, Func<int, bool> first, Action<int> second)
    {
        Pipelines++;
        return RunAsync(() => PureWorkPipeline.RunInterleaved(stages, first, second));
    }
}

/// <summary>
/// A chunk's bytes are hashed once on the way to disk (the hash is pure work a real node runs off its loop), and a
/// chunk whose bytes do not match its id is still rejected.
/// </summary>
[Trait("Category", "Fast")]
public sealed class HashOnceTests
{
    private static (Simulation Sim, SimNode Node, ChunkStore Store, CountingPureWork Work) Setup(ulong seed)
    {
        var (sim, node) = SimHarness.OneIdleNode(seed);
        var work = new CountingPureWork();
        return (sim, node, new ChunkStore(node.Runtime! with { PureWork = work }), work);
    }

    private static byte[] Bytes(ulong seed, int sizeBytes)
    {
        var data = new byte[sizeBytes];
        new DeterministicRandom(seed).NextBytes(data);
        return data;
    }

    [Fact]
    public void A_new_chunk_is_hashed_once_on_its_way_to_disk()
    {
        var (sim, node, store, work) = Setup(31);
        using var _ = sim;
        var data = Bytes(1, 100_000);
        var id = ChunkStore.IdOf(data);
        var outcome = sim.Await(node.Spawn(_ => store.WriteAsync(id, data)), "the write");
        Assert.Equal(ChunkWriteOutcome.Written, outcome);
        Assert.Equal(1, work.Runs);
        Assert.True(node.Disk.IsDurable(ChunkStore.PathOf(id)), "the acknowledged chunk must be durable");
        Assert.Equal(data, node.Disk.Peek(ChunkStore.PathOf(id)));
    }

    [Fact]
    public void A_chunk_hashed_by_HashAsync_is_stored_under_that_id_without_a_second_pass()
    {
        var (sim, node, store, work) = Setup(32);
        using var _ = sim;
        var data = Bytes(2, 70_000);
        var id = sim.Await(node.Spawn(async _ =>
        {
            var chunk = await store.HashAsync(data);
            await store.WriteAsync(chunk);
            return chunk.Id.Hex;
        }), "hash, then write");
        Assert.Equal(ChunkStore.IdOf(data), id);
        Assert.Equal(1, work.Runs);
        var read = sim.Await(node.Spawn(_ => store.ReadAsync(id)), "the read");
        Assert.Equal(data, read.Data.ToArray());
        Assert.Equal(2, work.Runs); // A read verifies the bytes again: that is the read's own pass.
    }

    [Fact]
    public void Bytes_that_do_not_hash_to_the_id_are_rejected_after_one_pass_and_nothing_is_stored()
    {
        var (sim, node, store, work) = Setup(33);
        using var _ = sim;
        var data = Bytes(3, 50_000);
        var claimed = ChunkStore.IdOf(Bytes(4, 50_000));
        var error = Assert.Throws<ChunkMismatchException>(
            () => sim.Await(node.Spawn(_ => store.WriteAsync(claimed, data)), "the mismatched write"));
        Assert.Contains(ChunkStore.IdOf(data), error.Message, StringComparison.Ordinal);
        Assert.Equal(1, work.Runs);
        Assert.Equal(1, store.WritesRejected);
        Assert.DoesNotContain(node.Disk.AllFiles(), f => f.StartsWith("chunks/", StringComparison.Ordinal)
                                                         && !f.StartsWith("chunks/tmp", StringComparison.Ordinal));
    }

    [Fact]
    public void A_streamed_chunk_is_hashed_segment_by_segment_and_a_mismatch_is_still_rejected()
    {
        var (sim, node, store, work) = Setup(34);
        using var _ = sim;
        var data = Bytes(5, 3 * ChunkWriter.PureWorkBytesMin);
        var claimed = ChunkStore.IdOf(Bytes(6, 3 * ChunkWriter.PureWorkBytesMin));
        Assert.Throws<ChunkMismatchException>(() => sim.Await(node.Spawn(async _ =>
        {
            await using var writer = await store.BeginWriteAsync(claimed);
            for (var at = 0; at < data.Length; at += ChunkWriter.PureWorkBytesMin)
            {
                await writer.AppendAsync(data.AsMemory(at, ChunkWriter.PureWorkBytesMin));
            }

            return await writer.CommitAsync();
        }), "the streamed mismatched write"));
        Assert.Equal(3, work.Runs);
        Assert.DoesNotContain(node.Disk.AllFiles(), f => f.StartsWith("chunks/", StringComparison.Ordinal)
                                                         && f.Contains(claimed, StringComparison.Ordinal));
    }

    [Fact]
    public void Small_stream_frames_are_hashed_inline_without_a_hop()
    {
        var (sim, node, store, work) = Setup(35);
        using var _ = sim;
        const int Frame = 64 * 1024;
        Assert.True(Frame < ChunkWriter.PureWorkBytesMin, "a stream frame is below the pure-work threshold");
        var data = Bytes(7, 4 * Frame);
        var id = ChunkStore.IdOf(data);
        var outcome = sim.Await(node.Spawn(async _ =>
        {
            await using var writer = await store.BeginWriteAsync(id);
            for (var at = 0; at < data.Length; at += Frame)
            {
                await writer.AppendAsync(data.AsMemory(at, Frame));
            }

            return await writer.CommitAsync();
        }), "the streamed write");
        Assert.Equal(ChunkWriteOutcome.Written, outcome);
        Assert.Equal(0, work.Runs);
        Assert.Equal(data, node.Disk.Peek(ChunkStore.PathOf(id)));
    }
}
