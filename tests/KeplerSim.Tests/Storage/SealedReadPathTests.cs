using KeplerSim.Core.Storage;
using KeplerSim.Sim.Kernel;
using KeplerSim.Tests.Sim;

using static KeplerSim.Tests.Storage.StoreTestKit;

namespace KeplerSim.Tests.Storage;

/// <summary>
/// The read path of chunks sealed at rest, for the Storage/ survivors of the eighth session's Stryker run
/// (docs/mutation/storage-survivors-2026-12-07.tsv): which reads hash the plaintext and which trust the tags, a
/// sealed file of an odd number of segments through the pipeline, the largest sealed chunk, why a file is refused,
/// the checkers' <see cref="ChunkStore.IdOfFile"/>, and the key check's durability. Each test names the mutants it
/// kills as "file:line original -> mutation".
/// </summary>
[Trait("Category", "Fast")]
public sealed class SealedReadPathTests
{
    private static readonly AtRestKey Key = new(Enumerable.Repeat((byte)11, AtRestKey.KeySizeBytes).ToArray());

    [Fact]
    public void Reads_trust_a_bound_files_tags_while_scrub_hashes_an_odd_number_of_segments_through_the_pipeline()
    {
        // Kills ChunkStore.cs:106 "trustTag: true -> false" and :400 "hashPlaintext ? pipeline -> always the
        // pipeline" (a read hashed what the tags vouch for), :286 "!trustTag -> trustTag" (reads hashed, scrub did
        // not), and :403 "Math.Min -> Math.Max" (the last piece of three segments ran past the file: scrub threw).
        var (sim, node) = SimHarness.OneIdleNode(121);
        using var _ = sim;
        var work = new CountingPureWork();
        var store = new ChunkStore(node.Runtime! with { PureWork = work, AtRestKey = Key });
        var (id, data) = MakeChunk(121, (2 * AtRestFormat.SegmentSizeBytes) + 500);
        Assert.Equal(ChunkWriteOutcome.Written, Run(sim, node, _ => store.WriteAsync(id, data), "write"));
        Assert.Equal(0, work.Pipelines);
        Assert.Equal(data, Run(sim, node, _ => store.ReadAsync(id), "read").Data.ToArray());
        Assert.Equal(0, work.Pipelines);
        Assert.Equal(ChunkStatus.Ok, Run(sim, node, _ => store.VerifyAsync(id), "scrub"));
        Assert.Equal(1, work.Pipelines);
    }

    [Fact]
    public void The_largest_chunk_sealed_at_rest_reads_back()
    {
        // Kills ChunkStore.cs:329 "key is null ? max : sealed max -> always max": with a key the largest chunk's
        // file (64 MiB plus its header and tags) was taken for an oversized file and reported corrupt.
        var (sim, node) = SimHarness.OneIdleNode(122);
        using var _ = sim;
        var store = new ChunkStore(node.Runtime! with { AtRestKey = Key });
        var (id, data) = MakeChunk(122, ChunkStore.ChunkSizeBytesMax);
        Assert.Equal(ChunkWriteOutcome.Written, Run(sim, node, _ => store.WriteAsync(id, data), "largest write"));
        Assert.Equal(AtRestFormat.StoredLength(data.Length), node.Disk.Peek(ChunkStore.PathOf(id))!.Length);
        using var read = Run(sim, node, _ => store.ReadAsync(id), "largest read");
        Assert.Equal(ChunkStatus.Ok, read.Status);
        Assert.Equal(ChunkStore.ChunkSizeBytesMax, read.Data.Length);
        Assert.Equal(0, store.CorruptDetected);
    }

    [Fact]
    public void A_corrupt_chunk_is_reported_with_why_it_was_refused()
    {
        // Kills ChunkStore.cs:305 every mutant of "plaintext is null ? "bytes" : "decrypted bytes"" (the reason an
        // operator reads said which bytes did not hash to the id wrongly, or nothing), and :388 the "layout does not
        // read" block removed (a file sealed under another key was refused for a failed segment instead of for its
        // key). A sealed file whose tags authenticate under the id but whose plaintext is another chunk's is built
        // with the store's own sealer: only a hash catches it.
        var (sim, node) = SimHarness.OneIdleNode(123);
        using var _ = sim;
        var store = new ChunkStore(node.Runtime! with { AtRestKey = Key });
        var corrupt = RecordCorrupt(node);
        var (plain, plainData) = MakeChunk(123, 3000);
        Run(sim, node, _ => new ChunkStore(node.Runtime!).WriteAsync(plain, plainData), "write a plaintext chunk");
        Assert.True(node.Disk.Corrupt(ChunkStore.PathOf(plain)));
        Assert.Equal(ChunkStatus.Corrupt, Run(sim, node, _ => store.VerifyAsync(plain), "scrub the plaintext"));

        var (id, _) = MakeChunk(124, 3000);
        var (other, otherData) = MakeChunk(125, 3000);
        Put(sim, node, ChunkStore.PathOf(id), SealAs(id, otherData, Key));
        Assert.Equal(ChunkStatus.Corrupt, Run(sim, node, _ => store.VerifyAsync(id), "scrub the mislabelled"));

        var (foreign, foreignData) = MakeChunk(126, 3000);
        var otherKey = new AtRestKey(Enumerable.Repeat((byte)12, AtRestKey.KeySizeBytes).ToArray());
        Put(sim, node, ChunkStore.PathOf(foreign), SealAs(foreign, foreignData, otherKey));
        Assert.Equal(ChunkStatus.Corrupt, Run(sim, node, _ => store.VerifyAsync(foreign), "scrub the foreign"));

        Assert.Equal(3, corrupt.Count);
        Assert.StartsWith("hash mismatch: bytes hash to ", corrupt[0].Reason, StringComparison.Ordinal);
        Assert.Equal($"hash mismatch: decrypted bytes hash to {other}", corrupt[1].Reason);
        Assert.StartsWith("at-rest file sealed under key id ", corrupt[2].Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_checker_reads_the_id_of_plaintext_files_with_or_without_a_key()
    {
        // Kills ChunkStore.cs:365 "key is null || !HasMagic -> &&" (with a key, a plaintext file of a mixed store
        // was taken for a sealed one and had no id) and :366 its block removed (without a key every file was opened
        // as sealed and the checker threw).
        var (id, data) = MakeChunk(127, 5000);
        Assert.Equal(id, ChunkStore.IdOfFile(data.ToArray(), null));
        Assert.Equal(id, ChunkStore.IdOfFile(data.ToArray(), Key));
        Assert.Equal(id, ChunkStore.IdOfFile(SealAs(id, data, Key), Key, id));
    }

    [Fact]
    public void The_key_check_is_recorded_durably_and_announced()
    {
        // Kills ChunkStore.AtRest.cs:89 the store directory's fsync after the key check's rename removed (a crash
        // after the first keyed start lost the record; the first chunk write fsyncs that directory too, so only until
        // then, but the key check promised durability on its own) and :90 the AtRestKeyRecordedEvent removed.
        var (sim, node) = SimHarness.OneIdleNode(128, new DiskFaults { CrashKeepDirectoryProbability = 0 });
        using var _ = sim;
        var recorded = new List<AtRestKeyRecordedEvent>();
        node.Runtime!.Events.Stream.Subscribe(e =>
        {
            if (e is AtRestKeyRecordedEvent r)
            {
                recorded.Add(r);
            }
        });
        Run(sim, node, rt => new ChunkStore(rt with { AtRestKey = Key }).RecoverAsync(new MemoryChunkIndex()),
            "first start with a key");
        Assert.Equal(Key.IdHex, Assert.Single(recorded).KeyId);
        node.Crash();
        Assert.True(node.Disk.Exists(ChunkStore.KeyCheckPath), "a crash right after the first keyed start lost it");
    }

    /// <summary>The file the store's sealer makes of <paramref name="plaintext"/> bound to chunk
    /// <paramref name="id"/> (which need not be the plaintext's).</summary>
    private static byte[] SealAs(string id, byte[] plaintext, AtRestKey key)
    {
        var digest = new byte[ChunkId.DigestBytes];
        ChunkId.Parse(id).WriteDigest(digest);
        using var sealer = new ChunkSealer(key, "prefix08"u8, digest);
        var head = sealer.Push(plaintext).ToArray(); // Valid only until the next call.
        return [.. head, .. sealer.Finish().Span];
    }

    private static void Put(Simulation sim, SimNode node, string path, byte[] bytes) => Run(sim, node, async rt =>
    {
        await rt.Disk.CreateDirectoryAsync(path[..path.LastIndexOf('/')]);
        await using var file = await rt.Disk.CreateAsync(path);
        await file.AppendAsync(bytes);
        return true;
    }, "put " + path);
}
