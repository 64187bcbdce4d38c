using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using CsCheck;
using KeplerSim.Core.Manifests;
using KeplerSim.Core.Runtime;
using KeplerSim.Core.Storage;

namespace KeplerSim.Tests.Manifests;

[Trait("Category", "Fast")]
public sealed class ManifestTests
{
    private static readonly FilePath PathA = FilePath.Parse("dir/a.bin");
    private static readonly NodeId Node1 = new("n1");
    private static readonly VersionToken Version1 = new(1_000, 0, Node1);

    internal static readonly Gen<ChunkId> Id =
        Gen.Int[0, 50].Select(i => ChunkId.FromContent(BitConverter.GetBytes(i)));

    /// <summary>Random valid manifests: files of 0..20 chunks (with repeats) and tombstones.</summary>
    internal static readonly Gen<Manifest> AnyManifest = Gen.Frequency(
        (5, Gen.Select(FilePathTests.ValidPath, Gen.Int[1, 4096], Gen.Int[0, 20], Gen.Int[0, 4095], Id.Array[20],
                Token())
            .Select((path, chunkSize, count, tail, ids, version) => Manifest.Create(
                FilePath.Parse(path),
                count == 0 ? 0 : ((long)(count - 1) * chunkSize) + 1 + (tail % chunkSize),
                ids.Take(count),
                chunkSize,
                version,
                version.Node))),
        (1, Gen.Select(FilePathTests.ValidPath, Token())
            .Select((path, version) => Manifest.CreateTombstone(FilePath.Parse(path), version, new NodeId("o")))));

    internal static Gen<VersionToken> Token() =>
        Gen.Select(Gen.Long, Gen.Int.Positive, Gen.OneOf("n1", "n2", "節点"))
            .Select((wall, logical, node) => new VersionToken(wall, logical, new NodeId(node)));

    [Fact]
    public void ContentId_follows_the_documented_encoding()
    {
        var ids = new[] { ChunkId.FromContent("x"u8), ChunkId.FromContent("y"u8), ChunkId.FromContent("x"u8) };
        var manifest = Manifest.Create(PathA, 2_500, ids, 1_000, Version1, Node1);

        // Independent re-implementation of the XML-doc encoding.
        var preimage = new List<byte>(Encoding.ASCII.GetBytes("keplersim-content-v1")) { 0 };
        var numbers = new byte[16];
        BinaryPrimitives.WriteInt64BigEndian(numbers, 2_500);
        BinaryPrimitives.WriteInt32BigEndian(numbers.AsSpan(8), 1_000);
        BinaryPrimitives.WriteInt32BigEndian(numbers.AsSpan(12), 3);
        preimage.AddRange(numbers);
        foreach (var id in ids)
        {
            preimage.AddRange(Convert.FromHexString(id.Hex));
        }

        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(preimage.ToArray())), manifest.ContentId);
    }

    [Fact]
    public void ContentId_is_deterministic_and_names_content_not_path_or_version()
    {
        var ids = new[] { ChunkId.FromContent("x"u8), ChunkId.FromContent("y"u8) };
        var a = Manifest.Create(PathA, 1_500, ids, 1_000, Version1, Node1);
        var b = Manifest.Create(FilePath.Parse("other"), 1_500, ids.ToList(), 1_000, new(9, 9, new("n2")), new("n2"));

        Assert.Equal(a.ContentId, b.ContentId);
        Assert.Matches("^[0-9a-f]{64}$", a.ContentId);
        Assert.NotEqual(a.ContentId, Manifest.Create(PathA, 1_999, ids, 1_000, Version1, Node1).ContentId);
        Assert.NotEqual(a.ContentId, Manifest.Create(PathA, 1_500, ids, 1_499, Version1, Node1).ContentId);
        Assert.NotEqual(a.ContentId, Manifest.Create(PathA, 1_500, ids.Reverse(), 1_000, Version1, Node1).ContentId);

        var empty = Manifest.Create(PathA, 0, [], 1_000, Version1, Node1);
        var tombstone = Manifest.CreateTombstone(PathA, Version1, Node1);
        Assert.NotEqual(empty.ContentId, tombstone.ContentId);
    }

    [Fact]
    public void ContentId_changes_when_any_chunk_changes() =>
        Gen.Select(Id.Array[1, 30], Gen.Int[0, 29], Id).Sample((ids, at, replacement) =>
        {
            var index = at % ids.Length;
            var changed = (ChunkId[])ids.Clone();
            changed[index] = replacement;
            var a = Manifest.Create(PathA, ids.Length * 10L, ids, 10, Version1, Node1);
            var b = Manifest.Create(PathA, ids.Length * 10L, changed, 10, Version1, Node1);

            Assert.Equal(replacement == ids[index], a.ContentId == b.ContentId);
            Assert.Equal(replacement == ids[index], a.Equals(b));
        }, iter: 1_000);

    [Theory]
    [InlineData(2_001L, 2, 1_000, "2 chunks but size 2001 in chunks of 1000 needs 3")]
    [InlineData(1_000L, 2, 1_000, "2 chunks but size 1000 in chunks of 1000 needs 1")]
    [InlineData(0L, 1, 1_000, "1 chunks but size 0 in chunks of 1000 needs 0")]
    [InlineData(-1L, 0, 1_000, "size -1 is negative")]
    [InlineData(0L, 0, 0, "chunk size 0 is outside 1..67108864")]
    [InlineData(0L, 0, Chunker.ChunkSizeBytesMax + 1, "chunk size 67108865 is outside 1..67108864")]
    [InlineData(long.MaxValue, 1, 1, "1 chunks but size 9223372036854775807 in chunks of 1 needs 9223372036854775807")]
    public void Inconsistent_sizes_are_rejected(long sizeBytes, int chunkCount, int chunkSizeBytes, string expected)
    {
        var ids = Enumerable.Repeat(ChunkId.FromContent("x"u8), chunkCount);

        var error = Assert.Throws<InvalidManifestException>(
            () => Manifest.Create(PathA, sizeBytes, ids, chunkSizeBytes, Version1, Node1));

        Assert.Equal($"manifest for 'dir/a.bin': {expected}", error.Message);
    }

    [Fact]
    public void Other_invariants_are_enforced()
    {
        var id = ChunkId.FromContent("x"u8);
        Assert.Contains("chunk 1 has no id", Assert.Throws<InvalidManifestException>(
            () => Manifest.Create(PathA, 20, [id, default], 10, Version1, Node1)).Message);
        Assert.Contains("origin node id is empty", Assert.Throws<InvalidManifestException>(
            () => Manifest.Create(PathA, 10, [id], 10, Version1, new NodeId(""))).Message);
        Assert.Contains("version token has no node id", Assert.Throws<InvalidManifestException>(
            () => Manifest.Create(PathA, 10, [id], 10, default, Node1)).Message);
        Assert.Contains("negative logical counter", Assert.Throws<InvalidManifestException>(
            () => Manifest.Create(PathA, 10, [id], 10, new VersionToken(1, -1, Node1), Node1)).Message);
        Assert.Throws<ArgumentNullException>(() => Manifest.Create(null!, 10, [id], 10, Version1, Node1));
    }

    [Fact]
    public void A_tombstone_has_no_content()
    {
        var tombstone = Manifest.CreateTombstone(PathA, Version1, Node1);

        Assert.True(tombstone.IsTombstone);
        Assert.Equal(0, tombstone.SizeBytes);
        Assert.Equal(0, tombstone.ChunkSizeBytes);
        Assert.Empty(tombstone.Chunks);
        Assert.Equal("dir/a.bin deleted @ 1000.0@n1 from n1", tombstone.ToString());
    }

    [Fact]
    public void Equality_compares_the_chunk_list_by_sequence()
    {
        var ids = new[] { ChunkId.FromContent("x"u8), ChunkId.FromContent("y"u8) };
        var a = Manifest.Create(PathA, 20, ids, 10, Version1, Node1);
        var b = Manifest.Create(PathA, 20, ids.ToList(), 10, Version1, Node1);

        Assert.Equal(a, b);
        Assert.True(a == b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
        Assert.NotEqual(a, Manifest.Create(PathA, 20, ids, 10, Version1, new NodeId("n2")));
        Assert.NotEqual(a, Manifest.Create(PathA, 20, ids, 10, Version1 with { Logical = 1 }, Node1));
        Assert.NotEqual(a, Manifest.Create(PathA, 20, [ids[1], ids[0]], 10, Version1, Node1));
    }

    [Fact]
    public void The_chunk_list_is_a_copy_the_caller_cannot_change()
    {
        var ids = new[] { ChunkId.FromContent("x"u8) };
        var manifest = Manifest.Create(PathA, 5, ids, 10, Version1, Node1);
        ids[0] = ChunkId.FromContent("y"u8);

        Assert.Equal(ChunkId.FromContent("x"u8), manifest.Chunks[0]);
        Assert.IsNotType<ChunkId[]>(manifest.Chunks);
    }

    [Fact]
    public async Task A_manifest_can_be_built_from_what_the_chunker_produced()
    {
        var content = Storage.ChunkerTests.Content(2_500, seed: 9);
        var list = await new Chunker(1_000).ListAsync(new MemoryStream(content));

        var manifest = Manifest.Create(PathA, list, Version1, Node1);

        Assert.Equal(2_500, manifest.SizeBytes);
        Assert.Equal(1_000, manifest.ChunkSizeBytes);
        Assert.Equal(list.Chunks, manifest.Chunks);
    }

    [Fact]
    public void The_highest_version_wins_whatever_the_argument_order()
    {
        var older = Manifest.Create(PathA, 0, [], 10, new VersionToken(5, 0, new NodeId("z")), Node1);
        var newer = Manifest.CreateTombstone(PathA, new VersionToken(5, 1, new NodeId("a")), Node1);
        var sameTokenOtherContent = Manifest.Create(PathA, 1, [ChunkId.FromContent("q"u8)], 10, older.Version, Node1);

        Assert.Same(newer, ManifestOrder.Winner(older, newer));
        Assert.Same(newer, ManifestOrder.Winner(newer, older));
        Assert.True(ManifestOrder.Compare(newer, older) > 0);
        Assert.True(ManifestOrder.Compare(older, newer) < 0);
        Assert.Equal(0, ManifestOrder.Compare(older, Manifest.Create(PathA, 0, [], 10, older.Version, Node1)));
        Assert.True(ManifestOrder.Compare(null, older) < 0);

        // Equal tokens (a replay bug) still resolve the same way on every node.
        var tie = Math.Sign(string.CompareOrdinal(older.ContentId, sameTokenOtherContent.ContentId));
        Assert.Equal(tie, Math.Sign(ManifestOrder.Compare(older, sameTokenOtherContent)));
        Assert.Equal(-tie, Math.Sign(ManifestOrder.Compare(sameTokenOtherContent, older)));
    }

    [Fact]
    public void ManifestOrder_is_a_total_order() =>
        Gen.Select(AnyManifest, AnyManifest, AnyManifest).Sample((x, y, z) =>
        {
            Assert.Equal(Math.Sign(ManifestOrder.Compare(x, y)), -Math.Sign(ManifestOrder.Compare(y, x)));
            var sorted = new[] { x, y, z }.OrderBy(m => m, ManifestOrder.Comparer).ToArray();
            Assert.True(ManifestOrder.Compare(sorted[0], sorted[1]) <= 0);
            Assert.True(ManifestOrder.Compare(sorted[1], sorted[2]) <= 0);
            Assert.True(ManifestOrder.Compare(sorted[0], sorted[2]) <= 0);
            Assert.Equal(0, ManifestOrder.Compare(sorted[2], ManifestOrder.Winner(ManifestOrder.Winner(x, y), z)));
        }, iter: 1_000);
}
