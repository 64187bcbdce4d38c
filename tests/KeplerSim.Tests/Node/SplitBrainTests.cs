using KeplerSim.Core.Node;
using KeplerSim.Tests.Sim;

namespace KeplerSim.Tests.Node;

[Trait("Category", "Fast")]
public sealed class SplitBrainTests
{
    private const int C = KeplerCluster.ChunkSize;

    [Fact]
    public void Both_sides_accept_writes_and_after_healing_all_converge_on_one_winner_keeping_the_loser()
    {
        using var cluster = KeplerCluster.Create(5, seed: 41);
        var original = KeplerCluster.Bytes(2 * C, 1);
        cluster.Put(0, "shared", original, Durability.All);
        var minority = cluster.Nodes.Take(2).ToList();
        var majority = cluster.Nodes.Skip(2).ToList();
        cluster.Sim.Network.Partition(minority, majority);

        // Both sides write the same path and a path of their own; quorum is reachable only in the majority, so the
        // minority writes with fast durability (AP: it still accepts writes).
        var left = KeplerCluster.Bytes(3 * C, 2);
        var right = KeplerCluster.Bytes(3 * C + 5, 3);
        cluster.Put(0, "shared", left, Durability.Fast);
        cluster.Sim.RunFor(SimHarness.Second);
        cluster.Put(3, "shared", right, Durability.Quorum);
        cluster.Put(1, "only-left", left, Durability.Fast);
        cluster.Put(4, "only-right", right, Durability.Quorum);
        cluster.Sim.Network.Heal();

        Assert.True(cluster.Sim.RunUntil(() => Converged(cluster), 120 * SimHarness.Second),
            "waiting for every node to agree on the winner and the conflict of 'shared'");
        var versions = Versions(cluster, 2);
        Assert.Equal(2, versions.Count);
        Assert.Equal(right.Length, versions[0].SizeBytes); // the later write (higher token) wins
        Assert.Equal(left.Length, versions[1].SizeBytes);  // the concurrent loser is kept as a conflict
        for (var node = 0; node < 5; node++)
        {
            Assert.Equal(right, cluster.Get(node, "shared"));
            Assert.Equal(left, Get(cluster, node, "shared", versions[1].Version));
            Assert.Equal(left, cluster.Get(node, "only-left"));
            Assert.Equal(right, cluster.Get(node, "only-right"));
        }
    }

    [Fact]
    public void A_write_that_saw_the_conflict_resolves_it()
    {
        using var cluster = KeplerCluster.Create(3, seed: 42);
        cluster.Sim.Network.Partition([cluster.Nodes[0]], cluster.Nodes.Skip(1).ToList());
        cluster.Put(0, "p", KeplerCluster.Bytes(10, 1), Durability.Fast);
        cluster.Put(1, "p", KeplerCluster.Bytes(20, 2), Durability.Quorum);
        cluster.Sim.Network.Heal();
        Assert.True(cluster.Sim.RunUntil(() => Versions(cluster, 2, "p").Count == 2, 60 * SimHarness.Second),
            "waiting for the conflict to reach n3");
        var resolved = KeplerCluster.Bytes(30, 3);
        cluster.Put(2, "p", resolved, Durability.All);
        Assert.True(cluster.Sim.RunUntil(() => Enumerable.Range(0, 3).All(n => Versions(cluster, n, "p").Count == 1),
            60 * SimHarness.Second), "waiting for the resolution to supersede both versions everywhere");
        Assert.Equal(resolved, cluster.Get(0, "p"));
    }

    private static bool Converged(KeplerCluster cluster)
    {
        var views = Enumerable.Range(0, 5).Select(n => string.Join(";", Versions(cluster, n).Select(v => v.Version)))
            .Distinct().ToList();
        return views.Count == 1 && views[0].Split(';').Length == 2;
    }

    private static IReadOnlyList<FileVersionInfo> Versions(KeplerCluster cluster, int node, string path = "shared") =>
        cluster.Sim.Await(cluster.Nodes[node].Spawn(_ => cluster.Kepler(node).VersionsAsync(path)), $"versions of {path}");

    private static byte[] Get(KeplerCluster cluster, int node, string path, string version)
    {
        var buffer = new MemoryStream();
        cluster.Sim.Await(cluster.Nodes[node].Spawn(_ => cluster.Kepler(node).GetAsync(path, buffer, version: version)),
            "get a conflict version");
        return buffer.ToArray();
    }
}
