using KeplerSim.Core.Metadata;
using KeplerSim.Core.Node;
using KeplerSim.Tests.Sim;

namespace KeplerSim.Tests.Node;

/// <summary><see cref="KeplerNode.FindContentAsync"/>: any kept version by content id (GET /api/content).</summary>
[Trait("Category", "Fast")]
public sealed class ContentLookupTests
{
    [Fact]
    public void Finds_content_among_more_files_than_a_list_batch()
    {
        // The gateway's old stopgap searched one ListAsync batch (1,024 files) and missed the rest.
        using var cluster = KeplerCluster.Create(1, seed: 71);
        var files = MetadataStore.ListBatchMax + 6;
        var infos = new List<FileVersionInfo>();
        for (var i = 0; i < files; i++)
        {
            infos.Add(cluster.Put(0, $"dir/{i:D5}", KeplerCluster.Bytes(40, i + 1), Durability.Fast));
        }

        foreach (var i in new[] { 0, files / 2, files - 1 })
        {
            var found = Find(cluster, 0, infos[i].ContentId);
            Assert.NotNull(found);
            Assert.Equal($"dir/{i:D5}", found.Path);
            Assert.Equal(KeplerCluster.Bytes(40, i + 1), Get(cluster, 0, found));
        }

        Assert.Null(Find(cluster, 0, new string('0', 64)));
    }

    [Fact]
    public void Finds_an_overwritten_version_and_serves_its_bytes_by_version_token()
    {
        using var cluster = KeplerCluster.Create(1, seed: 73);
        var infos = new List<FileVersionInfo>();
        for (var i = 0; i < 40; i++)
        {
            infos.Add(cluster.Put(0, "overwritten", KeplerCluster.Bytes(40, i + 1), Durability.Fast));
        }

        // The oldest version is history behind 39 later ones: found while its chunks are kept (until GC).
        var first = Find(cluster, 0, infos[0].ContentId);
        Assert.NotNull(first);
        Assert.False(first.IsWinner);
        Assert.Equal(infos[0].Version, first.Version);
        Assert.Equal(KeplerCluster.Bytes(40, 1), Get(cluster, 0, first));
        Assert.True(Find(cluster, 0, infos[^1].ContentId)?.IsWinner);

        // A read of a named version says what it read: an older one is not the winner (GetAsync described every
        // version it served as the winner, so a client reading history by token was told it read the current file).
        var (read, described) = GetInfo(cluster, 0, infos[0]);
        Assert.Equal(KeplerCluster.Bytes(40, 1), read);
        Assert.False(described.IsWinner, "an overwritten version read by its token is not the winner");
        Assert.Equal(infos[0].Version, described.Version);
        Assert.True(GetInfo(cluster, 0, infos[^1]).Info.IsWinner, "the latest version read by its token is the winner");
    }

    [Fact]
    public void Finds_a_conflict_version_by_its_content_id()
    {
        using var cluster = KeplerCluster.Create(3, seed: 72);
        cluster.Sim.Network.Partition([cluster.Nodes[0]], cluster.Nodes.Skip(1).ToList());
        var lost = cluster.Put(0, "p", KeplerCluster.Bytes(10, 1), Durability.Fast);
        cluster.Sim.RunFor(SimHarness.Second);
        var won = cluster.Put(1, "p", KeplerCluster.Bytes(20, 2), Durability.Quorum);
        cluster.Sim.Network.Heal();
        Assert.True(cluster.Sim.RunUntil(() => Find(cluster, 2, lost.ContentId) is not null,
            60 * SimHarness.Second), "waiting for the conflict version to reach n3");
        var conflict = Find(cluster, 2, lost.ContentId)!;
        Assert.False(conflict.IsWinner);
        Assert.Equal(KeplerCluster.Bytes(10, 1), Get(cluster, 2, conflict));
        Assert.True(Find(cluster, 2, won.ContentId)?.IsWinner);
    }

    private static FileVersionInfo? Find(KeplerCluster cluster, int node, string contentId) =>
        cluster.Sim.Await(cluster.Nodes[node].Spawn(_ => cluster.Kepler(node).FindContentAsync(contentId)),
            $"find content {contentId[..8]}");

    private static byte[] Get(KeplerCluster cluster, int node, FileVersionInfo info) =>
        GetInfo(cluster, node, info).Bytes;

    private static (byte[] Bytes, FileVersionInfo Info) GetInfo(KeplerCluster cluster, int node, FileVersionInfo info)
    {
        var buffer = new MemoryStream();
        var described = cluster.Sim.Await(cluster.Nodes[node].Spawn(_ =>
            cluster.Kepler(node).GetAsync(info.Path, buffer, version: info.Version)), "get a version by token");
        return (buffer.ToArray(), described);
    }
}
