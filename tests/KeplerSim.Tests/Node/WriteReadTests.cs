using KeplerSim.Core.Node;
using KeplerSim.Tests.Sim;

namespace KeplerSim.Tests.Node;

[Trait("Category", "Fast")]
public sealed class WriteReadTests
{
    private const int C = KeplerCluster.ChunkSize;

    public static TheoryData<Durability, int> Cases()
    {
        var data = new TheoryData<Durability, int>();
        foreach (var durability in new[] { Durability.All, Durability.Quorum, Durability.Fast })
        {
            foreach (var size in new[] { 0, 1, C - 1, C, C + 1, 3 * C + C / 2 })
            {
                data.Add(durability, size);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Put_then_get_is_byte_identical_from_every_node(Durability durability, int size)
    {
        using var cluster = KeplerCluster.Create(4, seed: (ulong)(size + 1));
        var data = KeplerCluster.Bytes(size, size);
        var info = cluster.Put(1, "dir/file.bin", data, durability);
        Assert.Equal(size, info.SizeBytes);
        Assert.Equal((size + C - 1) / C, info.ChunkCount);
        cluster.Sim.RunFor(2 * SimHarness.Second);
        for (var node = 0; node < cluster.Nodes.Count; node++)
        {
            Assert.Equal(data, cluster.Get(node, "dir/file.bin"));
        }
    }

    [Fact]
    public void Repeated_chunks_are_stored_once_and_read_back_in_order()
    {
        using var cluster = KeplerCluster.Create(3, seed: 11);
        var block = KeplerCluster.Bytes(C, 1);
        var other = KeplerCluster.Bytes(C, 2);
        var data = block.Concat(other).Concat(block).Concat(block).ToArray();
        cluster.Put(0, "repeat", data, Durability.All);
        var chunks = cluster.ChunksOf(0, "repeat");
        Assert.Equal(4, chunks.Count);
        Assert.Equal(chunks[0], chunks[2]);
        Assert.Equal(2, chunks.Distinct().Count());
        Assert.Equal(data, cluster.Get(2, "repeat"));
    }

    [Fact]
    public void Range_reads_return_exactly_the_slice()
    {
        using var cluster = KeplerCluster.Create(3, seed: 12);
        var data = KeplerCluster.Bytes(5 * C + 7, 3);
        cluster.Put(0, "range", data, Durability.Quorum);
        foreach (var (offset, length) in new[] { (0L, 1L), (C - 1L, 2L), (2L * C, (long)C), (5L * C, 7L), (3L, 4L * C) })
        {
            Assert.Equal(data.AsSpan((int)offset, (int)length).ToArray(), cluster.Get(2, "range", offset, length));
        }
    }

    [Fact]
    public void Delete_writes_a_tombstone_everywhere_and_list_forgets_the_path()
    {
        using var cluster = KeplerCluster.Create(3, seed: 13);
        cluster.Put(0, "a/one", KeplerCluster.Bytes(10, 1), Durability.All);
        cluster.Put(0, "a/two", KeplerCluster.Bytes(10, 2), Durability.All);
        cluster.Sim.Await(cluster.Nodes[1].Spawn(_ => cluster.Kepler(1).DeleteAsync("a/one", Durability.All)), "delete");
        var listed = cluster.Sim.Await(cluster.Nodes[2].Spawn(_ => cluster.Kepler(2).ListAsync("a/")), "list");
        Assert.Equal(["a/two"], listed.Files.Select(f => f.Path));
        Assert.Null(listed.Next);
        Assert.Throws<FileNotFoundInClusterException>(() => cluster.Get(2, "a/one"));
    }

    [Fact]
    public void List_pages_with_a_cursor_and_says_when_it_is_truncated()
    {
        // Listing used to stop at 1,024 paths with no cursor and no sign that more existed (issue 18).
        using var cluster = KeplerCluster.Create(1, seed: 15);
        var names = Enumerable.Range(0, 7).Select(i => $"p/{i:D2}").ToList();
        foreach (var name in names)
        {
            cluster.Put(0, name, KeplerCluster.Bytes(10, 1), Durability.Fast);
        }

        cluster.Put(0, "q/outside", KeplerCluster.Bytes(10, 1), Durability.Fast);
        cluster.Sim.Await(cluster.Nodes[0].Spawn(_ => cluster.Kepler(0).DeleteAsync("p/03", Durability.Fast)),
            "delete");
        var seen = new List<string>();
        string? after = null;
        var pages = 0;
        do
        {
            var cursor = after;
            var page = cluster.Sim.Await(cluster.Nodes[0].Spawn(_ => cluster.Kepler(0).ListAsync("p/", cursor, 2)),
                "list page");
            Assert.True(page.Files.Count <= 2, $"page of {page.Files.Count} files for limit 2");
            Assert.Equal(page.Next is not null, page.Truncated);
            seen.AddRange(page.Files.Select(f => f.Path));
            after = page.Next;
            pages++;
        }
        while (after is not null && pages < 10);

        Assert.Equal(names.Where(n => n != "p/03"), seen);
        // 6 live paths in pages of 2: exactly 3 pages, the last one not truncated (no empty fourth page).
        Assert.Equal(3, pages);
    }

    [Fact]
    public void Overwrite_makes_the_newer_version_the_winner_and_the_older_history()
    {
        using var cluster = KeplerCluster.Create(3, seed: 14);
        cluster.Put(0, "v", KeplerCluster.Bytes(100, 1), Durability.All);
        var second = KeplerCluster.Bytes(200, 2);
        cluster.Put(1, "v", second, Durability.All);
        Assert.Equal(second, cluster.Get(2, "v"));
        var versions = cluster.Sim.Await(cluster.Nodes[2].Spawn(_ => cluster.Kepler(2).VersionsAsync("v")), "versions");
        // The second write saw the first, so the first is history, not a conflict.
        var only = Assert.Single(versions);
        Assert.True(only.IsWinner);
        Assert.Equal(200, only.SizeBytes);
    }
}
