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
}
