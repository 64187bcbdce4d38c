using KeplerSim.Core.Diagnostics;
using KeplerSim.Core.Runtime;
using KeplerSim.Core.Storage;
using KeplerSim.Node.Runtime;
using KeplerSim.Node.Tests.Support;

namespace KeplerSim.Node.Tests;

/// <summary>
/// The chunk store on the real node's seams (a real disk, pure work on the thread pool): scrub decrypts and hashes
/// a sealed chunk as an overlapped pipeline on two pool threads, and still catches a flipped byte in every segment.
/// </summary>
[Trait("Category", "Real")]
public sealed class PipelinedScrubTests
{
    private const int SegmentBytes = AtRestFormat.SegmentSizeBytes;
    private const int StoredSegmentBytes = SegmentBytes + AtRestFormat.TagSizeBytes;

    [Fact]
    public async Task Scrub_on_pool_threads_catches_a_flipped_byte_in_every_segment_and_passes_the_intact_file()
    {
        using var dir = new TempDir();
        using var loop = new EventLoop("pipelined-scrub");
        using var events = new EventPublisher();
        var key = new AtRestKey(Enumerable.Repeat((byte)3, AtRestKey.KeySizeBytes).ToArray());
        var runtime = new NodeRuntime(new NodeId("scrub"), new SystemClock(loop), new DeterministicRandom(5), null!,
            null!, new LocalDisk(loop, dir.Path), null!, events, NoBuggify.Instance)
        {
            PureWork = new ThreadPoolPureWork(loop),
            AtRestKey = key,
            Supervisor = new Supervisor(new NodeId("scrub"), f => throw f.Exception),
        };
        var store = new ChunkStore(runtime);
        const int segments = 9; // Five pipeline pieces; the last segment is short.
        var data = new byte[((segments - 1) * SegmentBytes) + 4321];
        Random.Shared.NextBytes(data);
        var id = ChunkStore.IdOf(data);
        await loop.InvokeAsync(() => store.WriteAsync(id, data));
        var path = Path.Combine(dir.Path, ChunkStore.PathOf(id));
        var good = await File.ReadAllBytesAsync(path);
        Assert.Equal(ChunkStatus.Ok, await loop.InvokeAsync(() => store.VerifyAsync(id)));

        for (var i = 0; i < segments; i++)
        {
            var start = AtRestFormat.HeaderSizeBytes + (i * StoredSegmentBytes);
            var length = Math.Min(SegmentBytes, data.Length - (i * SegmentBytes));
            foreach (var at in new[] { start, start + length - 1, start + length })
            {
                var flipped = good.ToArray();
                flipped[at] ^= 0x80;
                await File.WriteAllBytesAsync(path, flipped);
                Assert.True(await loop.InvokeAsync(() => store.VerifyAsync(id)) == ChunkStatus.Corrupt,
                    $"scrub passed segment {i} with byte {at} flipped");
                Assert.True((await loop.InvokeAsync(() => store.ReadAsync(id))).Status == ChunkStatus.Corrupt,
                    $"a read returned segment {i} with byte {at} flipped");
            }
        }

        await File.WriteAllBytesAsync(path, good);
        Assert.Equal(ChunkStatus.Ok, await loop.InvokeAsync(() => store.VerifyAsync(id)));
        using var read = await loop.InvokeAsync(() => store.ReadAsync(id));
        Assert.Equal(data, read.Data.ToArray());
    }
}
