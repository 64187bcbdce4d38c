using KeplerSim.Core.Node;
using KeplerSim.Core.Protocol;
using KeplerSim.Core.Storage;
using KeplerSim.Sim.KeplerFs;
using KeplerSim.Tests.Sim;

namespace KeplerSim.Tests.Node;

/// <summary>
/// The read path's edges (KeplerNode.Read.cs): a range at and just past the end of a file, an empty range, and a
/// version named by its token, in the forms a client may send (the gateway's <c>?version=</c>): the exact token
/// reads that version, anything else is "not found", never another version or a crash.
/// </summary>
[Trait("Category", "Fast")]
public sealed class ReadPathTests
{
    private const int C = KeplerCluster.ChunkSize;

    [Fact]
    public void A_range_at_the_end_is_empty_one_past_it_is_refused_and_a_long_one_stops_at_the_end()
    {
        using var cluster = KeplerCluster.Create(1, seed: 51);
        var data = KeplerCluster.Bytes(2 * C + 5, 1);
        cluster.Put(0, "r", data, Durability.All);

        Assert.Empty(cluster.Get(0, "r", offset: data.Length));
        Assert.Empty(cluster.Get(0, "r", offset: 3, length: 0));
        Assert.Empty(cluster.Get(0, "r", offset: C, length: 0));
        Assert.Equal(data[(2 * C)..], cluster.Get(0, "r", offset: 2 * C));
        Assert.Equal(data[(C - 1)..], cluster.Get(0, "r", offset: C - 1, length: 10 * C));
        Assert.Equal(data[C..(C + 1)], cluster.Get(0, "r", offset: C, length: 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => cluster.Get(0, "r", offset: data.Length + 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => cluster.Get(0, "r", offset: -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => cluster.Get(0, "r", offset: 0, length: -1));
    }

    [Fact]
    public void An_empty_file_reads_as_empty_from_every_offset_it_has()
    {
        using var cluster = KeplerCluster.Create(1, seed: 52);
        cluster.Put(0, "empty", [], Durability.All);
        Assert.Empty(cluster.Get(0, "empty"));
        Assert.Empty(cluster.Get(0, "empty", offset: 0, length: 5));
        Assert.Throws<ArgumentOutOfRangeException>(() => cluster.Get(0, "empty", offset: 1));
    }

    [Fact]
    public void A_version_named_by_its_token_reads_that_version_and_anything_else_is_not_found()
    {
        using var cluster = KeplerCluster.Create(1, seed: 53);
        var first = KeplerCluster.Bytes(C + 3, 2);
        var older = cluster.Put(0, "v", first, Durability.All);
        cluster.Put(0, "v", KeplerCluster.Bytes(7, 3), Durability.All);
        cluster.Put(0, "w", KeplerCluster.Bytes(9, 4), Durability.All);

        Assert.Equal(first, GetVersion(cluster, "v", older.Version));
        var token = older.Version; // wall.logical@node
        var at = token.IndexOf('@', StringComparison.Ordinal);
        var dot = token.IndexOf('.', StringComparison.Ordinal);
        string[] wrong =
        [
            "", "garbage", token[..at], token[at..], token[dot..], token[..(dot + 1)] + token[at..],
            token.Replace("@", "@x", StringComparison.Ordinal), token + "\u0001", token[..at] + "@ ",
            "9" + token, "-" + token, token.Replace(".", ".-", StringComparison.Ordinal),
            token[..dot] + "@" + token[(at + 1)..] + "." + token[(dot + 1)..at],
        ];
        foreach (var version in wrong)
        {
            var missing = Assert.Throws<FileNotFoundInClusterException>(() => GetVersion(cluster, "v", version));
            Assert.Contains(version, missing.Message, StringComparison.Ordinal);
        }

        // A real version of another path is not a version of this one.
        var other = cluster.Sim.Await(cluster.Nodes[0].Spawn(_ => cluster.Kepler(0).StatAsync("w")), "stat w");
        Assert.Throws<FileNotFoundInClusterException>(() => GetVersion(cluster, "v", other.Version));
    }

    /// <summary>
    /// Never trust a replica (TransferClient.FetchChunkAsync): chunk bytes flipped on the wire from the first owner a
    /// reader asks are rejected, the next owner serves the read, and only verified bytes repair the reader's copy;
    /// when every replica's bytes arrive flipped, the read fails as unavailable rather than serve them.
    /// </summary>
    [Fact]
    public void Chunk_bytes_corrupted_in_flight_are_rejected_and_the_read_falls_back_to_the_next_owner()
    {
        using var cluster = KeplerCluster.Create(3, seed: 54, membership: MembershipMode.Static);
        var data = KeplerCluster.Bytes(C, 5);
        cluster.Put(0, "f", data, Durability.All);
        var id = Assert.Single(cluster.ChunksOf(0, "f"));
        var reader = cluster.Nodes[2];
        var candidates = cluster.Kepler(2).Ring.OwnersOf(id).Select(o => o.Value).Where(n => n != reader.Name)
            .ToList();
        Assert.Equal(2, candidates.Count);
        var flipping = new SortedSet<string>(StringComparer.Ordinal) { candidates[0] };
        var flipped = 0;
        cluster.Sim.Network.StreamTap = (_, from, frame) =>
        {
            if (flipping.Contains(from.Name) && FrameCodec.Decode(frame) is ChunkDataFrame)
            {
                frame[^1] ^= 0xFF; // The last byte is the segment's last data byte.
                flipped++;
            }
        };
        Assert.True(reader.Disk.Corrupt(ChunkStore.PathOf(id)));

        Assert.Equal(data, cluster.Get(2, "f"));
        Assert.Equal(1, flipped);
        Assert.Equal(1, cluster.Kepler(2).Metrics.ReadRepairs);
        Assert.Equal(data, reader.Disk.Peek(ChunkStore.PathOf(id)));

        flipping.Add(candidates[1]);
        Assert.True(reader.Disk.Corrupt(ChunkStore.PathOf(id)));
        Assert.Throws<ChunkUnavailableException>(() => cluster.Get(2, "f"));
        Assert.Equal(3, flipped);
        Assert.Equal(1, cluster.Kepler(2).Metrics.ReadRepairs);
    }

    private static byte[] GetVersion(KeplerCluster cluster, string path, string version)
    {
        var get = cluster.Nodes[0].Spawn(async _ =>
        {
            using var sink = new MemoryStream();
            await cluster.Kepler(0).GetAsync(path, sink, version: version);
            return sink.ToArray();
        });
        Assert.True(cluster.Sim.RunUntil(() => get.IsCompleted, 10 * SimHarness.Second),
            $"waiting for {path} version {version}");
        return get.GetAwaiter().GetResult();
    }
}
