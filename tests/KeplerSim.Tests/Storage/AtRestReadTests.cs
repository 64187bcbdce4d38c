using System.Buffers.Binary;
using System.Security.Cryptography;
using KeplerSim.Core.Runtime;
using KeplerSim.Core.Storage;
using KeplerSim.Sim.Kernel;
using KeplerSim.Tests.Sim;

using static KeplerSim.Tests.Storage.StoreTestKit;

namespace KeplerSim.Tests.Storage;

/// <summary>
/// How the store verifies sealed chunks it reads: a read trusts AES-GCM tags that bind the chunk id (version 2
/// files), scrub decrypts and hashes (pipelined), and version 1 files (no id bound) are always hashed.
/// </summary>
[Trait("Category", "Fast")]
public sealed class AtRestReadTests
{
    private const int SegmentBytes = AtRestFormat.SegmentSizeBytes;
    private const int StoredSegmentBytes = SegmentBytes + AtRestFormat.TagSizeBytes;
    private const int Header = AtRestFormat.HeaderSizeBytes;

    private static readonly byte[] KeyBytes = Enumerable.Repeat((byte)7, AtRestKey.KeySizeBytes).ToArray();
    private static readonly AtRestKey Key = new(KeyBytes);

    private static ChunkStore StoreOf(NodeRuntime runtime) => new(runtime with { AtRestKey = Key });

    private static void Put(Simulation sim, SimNode node, string path, byte[] bytes) =>
        Run(sim, node, async rt =>
        {
            await rt.Disk.CreateDirectoryAsync(path[..path.LastIndexOf('/')]);
            await using var file = await rt.Disk.CreateAsync(path);
            await file.AppendAsync(bytes);
            await file.FsyncAsync();
            return true;
        }, "put " + path);

    /// <summary>
    /// The id is bound into every segment, so a read may trust the tags: a file sealed for chunk A and moved to
    /// chunk B's name must not open as B. (Without the id in the associated data the tags would all verify, the
    /// read would skip the hash, and B would be answered with A's bytes.)
    /// </summary>
    [Fact]
    public void A_sealed_file_moved_under_another_chunks_name_is_corrupt_for_reads_and_scrub()
    {
        var (sim, node) = SimHarness.OneIdleNode(41);
        using var _ = sim;
        var store = StoreOf(node.Runtime!);
        var (idA, dataA) = MakeChunk(21, (2 * SegmentBytes) + 5);
        var (idB, dataB) = MakeChunk(22, (2 * SegmentBytes) + 5);
        Run(sim, node, async _ =>
        {
            await store.WriteAsync(idA, dataA);
            return await store.WriteAsync(idB, dataB);
        }, "write A and B");
        Put(sim, node, ChunkStore.PathOf(idB), node.Disk.Peek(ChunkStore.PathOf(idA))!);

        Assert.Equal(ChunkStatus.Corrupt, Run(sim, node, _ => store.ReadAsync(idB), "read B").Status);
        Assert.Equal(ChunkStatus.Corrupt, Run(sim, node, _ => store.VerifyAsync(idB), "scrub B"));
        Assert.Equal(dataA, Run(sim, node, _ => store.ReadAsync(idA), "read A").Data.ToArray());
        Assert.Null(ChunkStore.IdOfFile(node.Disk.Peek(ChunkStore.PathOf(idB))!, Key, idB));
    }

    /// <summary>Every position of every segment, its tag, and the header: reads and scrub both catch a flip.</summary>
    [Fact]
    public void A_flipped_byte_in_every_segment_position_is_caught_by_reads_and_scrub()
    {
        var (sim, node) = SimHarness.OneIdleNode(42);
        using var _ = sim;
        var store = StoreOf(node.Runtime!);
        const int segments = 6; // Three pipeline pieces of two segments; the last segment is short.
        var (id, data) = MakeChunk(23, ((segments - 1) * SegmentBytes) + 1000);
        Run(sim, node, _ => store.WriteAsync(id, data), "write");
        var path = ChunkStore.PathOf(id);
        var good = node.Disk.Peek(path)!;
        var positions = new List<int> { 0, 8, 16, 24, 28, 31 }; // magic, key id, nonce prefix, segment size, reserved
        for (var i = 0; i < segments; i++)
        {
            var start = Header + (i * StoredSegmentBytes);
            var cipherBytes = Math.Min(SegmentBytes, data.Length - (i * SegmentBytes));
            positions.AddRange([start, start + (cipherBytes / 2), start + cipherBytes - 1, start + cipherBytes,
                start + cipherBytes + AtRestFormat.TagSizeBytes - 1]);
        }

        foreach (var at in positions)
        {
            var flipped = good.ToArray();
            flipped[at] ^= 0x01;
            Put(sim, node, path, flipped);
            Assert.True(Run(sim, node, _ => store.ReadAsync(id), $"read, byte {at} flipped").Status
                == ChunkStatus.Corrupt, $"a read returned a chunk with byte {at} flipped");
            Assert.True(Run(sim, node, _ => store.VerifyAsync(id), $"scrub, byte {at} flipped")
                == ChunkStatus.Corrupt, $"scrub passed a chunk with byte {at} flipped");
        }

        Put(sim, node, path, good);
        Assert.Equal(data, Run(sim, node, _ => store.ReadAsync(id), "read restored").Data.ToArray());
        Assert.Equal(ChunkStatus.Ok, Run(sim, node, _ => store.VerifyAsync(id), "scrub restored"));
    }

    /// <summary>
    /// Version 1 files (sealed before the id was bound) still open, and since their tags do not vouch for the id a
    /// read hashes them: one moved under another chunk's name is corrupt.
    /// </summary>
    [Fact]
    public void Version_1_files_still_read_and_are_hashed_on_every_read()
    {
        var (sim, node) = SimHarness.OneIdleNode(43);
        using var _ = sim;
        var store = StoreOf(node.Runtime!);
        var (idA, dataA) = MakeChunk(24, (3 * SegmentBytes) + 77);
        var (idB, _) = MakeChunk(25, 10);
        var sealedV1 = SealVersion1(dataA);
        Assert.True(AtRestFormat.HasMagic(sealedV1));
        Assert.False(AtRestFormat.BindsChunkId(sealedV1));
        Put(sim, node, ChunkStore.PathOf(idA), sealedV1);
        Put(sim, node, ChunkStore.PathOf(idB), sealedV1);

        Assert.Equal(dataA, Run(sim, node, _ => store.ReadAsync(idA), "read v1").Data.ToArray());
        Assert.Equal(ChunkStatus.Ok, Run(sim, node, _ => store.VerifyAsync(idA), "scrub v1"));
        Assert.Equal(idA, ChunkStore.IdOfFile(sealedV1.ToArray(), Key));
        Assert.Equal(ChunkStatus.Corrupt, Run(sim, node, _ => store.ReadAsync(idB), "read v1 as B").Status);
        Assert.Equal(ChunkStatus.Corrupt, Run(sim, node, _ => store.VerifyAsync(idB), "scrub v1 as B"));
    }

    /// <summary>The version 1 layout, built by hand: associated data = header || final flag, no chunk id.</summary>
    private static byte[] SealVersion1(byte[] plaintext)
    {
        var segments = (int)AtRestFormat.SegmentCount(plaintext.Length);
        var file = new byte[AtRestFormat.StoredLength(plaintext.Length)];
        AtRestFormat.MagicVersion1.CopyTo(file);
        Key.Id.CopyTo(file.AsSpan(8));
        "noncepfx"u8.CopyTo(file.AsSpan(16));
        BinaryPrimitives.WriteInt32BigEndian(file.AsSpan(24), SegmentBytes);
        using var cipher = new AesGcm(KeyBytes, AtRestFormat.TagSizeBytes);
        for (var i = 0; i < segments; i++)
        {
            var size = Math.Min(SegmentBytes, plaintext.Length - (i * SegmentBytes));
            var nonce = new byte[12];
            file.AsSpan(16, 8).CopyTo(nonce);
            BinaryPrimitives.WriteUInt32BigEndian(nonce.AsSpan(8), (uint)i);
            byte[] associated = [.. file.AsSpan(0, Header), (byte)(i == segments - 1 ? 1 : 0)];
            var offset = Header + (i * StoredSegmentBytes);
            cipher.Encrypt(nonce, plaintext.AsSpan(i * SegmentBytes, size), file.AsSpan(offset, size),
                file.AsSpan(offset + size, AtRestFormat.TagSizeBytes), associated);
        }

        return file;
    }
}
