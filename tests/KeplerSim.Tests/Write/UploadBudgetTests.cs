using KeplerSim.Core.Node;
using KeplerSim.Tests.Node;
using KeplerSim.Tests.Sim;

namespace KeplerSim.Tests.Write;

/// <summary>
/// One node-wide budget for upload buffers (issue 18): 20 concurrent uploads of 20 MiB peaked at 318–342 MB per node
/// because every upload allocated its own chunks in flight. With a budget, concurrent uploads share it.
/// </summary>
[Trait("Category", "Fast")]
public sealed class UploadBudgetTests
{
    private const int C = KeplerCluster.ChunkSize;

    [Fact]
    public void Concurrent_uploads_never_hold_more_buffers_than_the_budget_and_all_succeed()
    {
        using var cluster = KeplerCluster.Create(1, seed: 71, new KeplerOptions
        {
            ChunkSizeBytes = C, ReplicationFactor = 1, UploadChunksInFlight = 4, UploadBufferBytesMax = 3L * C,
        });
        var kepler = cluster.Kepler(0);
        var files = Enumerable.Range(0, 6).Select(i => KeplerCluster.Bytes(10 * C + i, 100 + i)).ToList();
        var puts = files.Select((data, i) => cluster.PutAsync(0, $"budget/{i}", data, Durability.All)).ToList();
        Assert.True(cluster.Sim.RunUntil(() => puts.All(p => p.IsCompleted), 300 * SimHarness.Second),
            "waiting for six concurrent uploads sharing three buffers");
        Assert.All(puts, p => Assert.True(p.IsCompletedSuccessfully, p.Exception?.ToString()));
        Assert.Equal(3, kepler.Uploads.Peak);     // the budget was used whole, and never exceeded
        Assert.Equal(0, kepler.Uploads.Taken);    // every upload gave its buffers back
        for (var i = 0; i < files.Count; i++)
        {
            Assert.Equal(files[i], cluster.Get(0, $"budget/{i}"));
        }
    }

    /// <summary>
    /// Issue 14: every upload allocated (and zeroed) a fresh chunk-size buffer, 4 MiB by default, even for a 1 KiB
    /// file; the simulator's profile of small puts showed it. An ended upload's buffers are kept for the next.
    /// </summary>
    [Fact]
    public void An_ended_uploads_buffers_are_reused_and_at_most_two_are_kept()
    {
        var budget = new KeplerSim.Core.Write.UploadBudget(8);
        var a = budget.Rent(C);
        var b = budget.Rent(C);
        var c = budget.Rent(C);
        Assert.Equal(C, a.Length);
        budget.Keep(a);
        budget.Keep(b);
        budget.Keep(c); // beyond KeptBuffersMax: dropped
        Assert.Same(b, budget.Rent(C));
        Assert.Same(a, budget.Rent(C));
        Assert.NotSame(c, budget.Rent(C));
        budget.Keep(a);
        Assert.Equal(2 * C, budget.Rent(2 * C).Length); // another size is never handed out
    }

    /// <summary>
    /// A quorum chunk's buffer can still be read by a push to a slower owner when its upload ends: that buffer must
    /// not be kept for the next upload (it would overwrite bytes the push is still sending), while a spare one and a
    /// lent one whose push has ended are.
    /// </summary>
    [Fact]
    public async Task A_buffer_still_lent_to_a_running_push_is_not_kept_for_the_next_upload()
    {
        var budget = new KeplerSim.Core.Write.UploadBudget(8);
        var first = new KeplerSim.Core.Write.UploadBuffers(C, lentMax: 4, budget);
        var reading = await first.TakeAsync(chunksInFlight: 0);
        var done = await first.TakeAsync(chunksInFlight: 1);
        Assert.NotNull(reading);
        Assert.NotNull(done);
        var push = new TaskCompletionSource();
        first.Release(reading, new KeplerSim.Core.Write.ChunkPushes { Ended = push.Task });
        first.Release(done, new KeplerSim.Core.Write.ChunkPushes());
        first.Dispose();

        var next = new KeplerSim.Core.Write.UploadBuffers(C, lentMax: 4, budget);
        var taken = new[] { await next.TakeAsync(0), await next.TakeAsync(1), await next.TakeAsync(2) };
        Assert.Contains(taken, b => ReferenceEquals(b, done));           // the spare one was kept and reused
        Assert.DoesNotContain(taken, b => ReferenceEquals(b, reading));  // the one a push still reads was not
        push.SetResult();
        next.Dispose();
    }

    /// <summary>
    /// Issue 14: a quorum upload usually ends while the push to its slowest owner still reads the chunk's buffer,
    /// and such buffers were dropped, so almost every small upload allocated and zeroed a fresh chunk-size buffer
    /// (8 % of steady-5's CPU in perf). The buffer is kept, and handed out once that push has ended.
    /// </summary>
    [Fact]
    public async Task A_buffer_lent_to_a_push_when_its_upload_ended_is_reused_once_the_push_has_ended()
    {
        var budget = new KeplerSim.Core.Write.UploadBudget(8);
        var upload = new KeplerSim.Core.Write.UploadBuffers(C, lentMax: 4, budget);
        var lent = await upload.TakeAsync(chunksInFlight: 0);
        Assert.NotNull(lent);
        var push = new TaskCompletionSource();
        upload.Release(lent, new KeplerSim.Core.Write.ChunkPushes { Ended = push.Task });
        upload.Dispose();

        var early = budget.Rent(C);
        Assert.NotSame(lent, early); // the push still sends from it
        push.SetResult();
        Assert.Same(lent, budget.Rent(C));
    }

    /// <summary>
    /// Issue 14: an upload dropped the buffers of its last chunks instead of keeping them, so every single-chunk
    /// upload allocated and zeroed a fresh chunk-size buffer (4 MiB by default; 8-14 % of the simulator's CPU in a
    /// steady state of small puts, mostly in the garbage collector). A stream of small uploads allocates one.
    /// </summary>
    [Fact]
    public void A_stream_of_single_chunk_uploads_allocates_one_buffer()
    {
        using var cluster = KeplerCluster.Create(1, seed: 73, new KeplerOptions
        {
            ChunkSizeBytes = C, ReplicationFactor = 1,
        });
        for (var i = 0; i < 4; i++)
        {
            var put = cluster.PutAsync(0, $"small/{i}", KeplerCluster.Bytes(C / 4 + i, 20 + i), Durability.All);
            Assert.True(cluster.Sim.RunUntil(() => put.IsCompleted, 60 * SimHarness.Second), $"waiting for put {i}");
            Assert.True(put.IsCompletedSuccessfully, put.Exception?.ToString());
        }

        Assert.Equal(1, cluster.Kepler(0).Uploads.Allocated);
    }

    /// <summary>A reused buffer still holds the last chunk's bytes: none of them may reach a later, shorter file.
    /// </summary>
    [Fact]
    public void A_shorter_upload_after_a_longer_one_stores_only_its_own_bytes()
    {
        using var cluster = KeplerCluster.Create(1, seed: 72, new KeplerOptions
        {
            ChunkSizeBytes = C, ReplicationFactor = 1,
        });
        var files = new[] { KeplerCluster.Bytes(2 * C, 7), KeplerCluster.Bytes(C / 3, 8), KeplerCluster.Bytes(5, 9) };
        for (var i = 0; i < files.Length; i++)
        {
            var put = cluster.PutAsync(0, $"reuse/{i}", files[i], Durability.All);
            Assert.True(cluster.Sim.RunUntil(() => put.IsCompleted, 60 * SimHarness.Second), $"waiting for put {i}");
            Assert.True(put.IsCompletedSuccessfully, put.Exception?.ToString());
        }

        for (var i = 0; i < files.Length; i++)
        {
            Assert.Equal(files[i], cluster.Get(0, $"reuse/{i}"));
        }
    }
}
