using KeplerSim.Core;
using KeplerSim.Core.Runtime;
using KeplerSim.Core.Storage;
using KeplerSim.Sim.Kernel;
using KeplerSim.Tests.Sim;

using static KeplerSim.Tests.Storage.StoreTestKit;

namespace KeplerSim.Tests.Storage;

/// <summary>
/// The durable write path (create, write, fsync, rename, recovery) and the store's walk, for the Storage/ survivors
/// of the eighth session's Stryker run (docs/mutation/storage-survivors-2026-12-07.tsv): what a write hashes and
/// where, what it refuses before touching the disk, which calls end a deferred chunk's deferral, how recovery's
/// tmp clean-up survives a crash, and which files the walk counts as chunks. Each test names the mutants it kills
/// as "file:line original -> mutation".
/// </summary>
[Trait("Category", "Fast")]
public sealed class DurableWritePathTests
{
    private static readonly AtRestKey Key = new(Enumerable.Repeat((byte)9, AtRestKey.KeySizeBytes).ToArray());

    [Fact]
    public void A_large_write_is_hashed_once_and_an_oversized_one_is_refused_before_hashing_or_the_disk()
    {
        // Kills ChunkStore.Write.cs:58 "verifyHash: false -> true" and ChunkStoreWriter.cs:36 "verifyHash ? hash :
        // null -> always a hash" (a segment of 256 KiB or more was hashed a second time as pure work); Write.cs:17
        // "RequireSize" removed (64 MiB + 1 bytes were hashed before the refusal); Write.cs:47 "RequireSize" removed
        // (a hashed oversized chunk created a tmp file before the writer refused it).
        var (sim, node) = SimHarness.OneIdleNode(101);
        using var _ = sim;
        var work = new CountingPureWork();
        var store = new ChunkStore(node.Runtime! with { PureWork = work });
        var (id, data) = MakeChunk(101, ChunkWriter.PureWorkBytesMin);
        Assert.Equal(ChunkWriteOutcome.Written, Run(sim, node, _ => store.WriteAsync(id, data), "large write"));
        Assert.Equal(1, work.Runs);

        var oversized = new byte[ChunkStore.ChunkSizeBytesMax + 1];
        Assert.Throws<ChunkTooLargeException>(() => Run(sim, node, _ => store.WriteAsync(id, oversized), "oversized"));
        Assert.Equal(1, work.Runs);
        var hashed = Run(sim, node, _ => store.HashAsync(oversized), "hash the oversized chunk");
        var generation = node.Disk.Generation;
        Assert.Throws<ChunkTooLargeException>(() => Run(sim, node, _ => store.WriteAsync(hashed), "oversized hashed"));
        Assert.Equal(generation, node.Disk.Generation);
        Assert.Equal(2, store.WritesRejected);
    }

    [Fact]
    public void A_default_hashed_chunk_and_null_arguments_are_refused_as_the_callers_bugs()
    {
        // Kills ChunkStore.Write.cs:45 the "a hashed chunk has an id" invariant removed (an argument error about a
        // null id instead) and its message; ChunkStore.cs:62 and ChunkStore.Recovery.cs:18 "ThrowIfNull" removed
        // (a NullReferenceException, for recovery only after it had deleted the leftover tmp files).
        var (sim, node) = SimHarness.OneIdleNode(102);
        using var _ = sim;
        var store = new ChunkStore(node.Runtime!);
        var bug = Assert.Throws<InvariantViolationException>(
            () => Run(sim, node, _ => store.WriteAsync(default(HashedChunk)), "default hashed chunk"));
        Assert.Contains("a hashed chunk has an id (make one with HashAsync)", bug.Message, StringComparison.Ordinal);
        Assert.Equal("runtime", Assert.Throws<ArgumentNullException>(() => new ChunkStore(null!)).ParamName);

        var tmp = PlantTmpFile(sim, node);
        var error = Assert.Throws<ArgumentNullException>(() => Run(sim, node, _ => store.RecoverAsync(null!), "null"));
        Assert.Equal("index", error.ParamName);
        Assert.True(node.Disk.Exists(tmp), "a refused recovery changes nothing");
    }

    /// <summary>
    /// Regression (`kepler-sim swarm scenarios/slow/join-rebalance.yaml --first-seed 7003 -n 1`, thirteenth session:
    /// replicas_durable_and_verified failed at 10.595 s, "n5:8898b4141dac recorded, but its file is missing, not
    /// durable or does not match"): a joining node stored two chunks of one new shard at once. The first write's
    /// directory step marked the shard durable as soon as the shard's own entry was fsync'd, and went on to fsync
    /// its parent's; the second write found the shard marked, renamed its file in, and was acknowledged while the
    /// parent's entry was still only in the page cache: a crash then would lose an acknowledged copy. Seeds 107,
    /// 108, 110 and 112 failed before the fix (in the others the parent's fsync ended before the publish).
    /// </summary>
    [Theory]
    [InlineData(107UL)]
    [InlineData(108UL)]
    [InlineData(109UL)]
    [InlineData(110UL)]
    [InlineData(111UL)]
    [InlineData(112UL)]
    public void A_chunk_published_into_a_shard_another_write_is_creating_returns_only_once_every_ancestor_is_durable(
        ulong seed)
    {
        var (sim, node) = SimHarness.OneIdleNode(seed, new DiskFaults { CrashKeepDirectoryProbability = 0 });
        using var _ = sim;
        var store = new ChunkStore(node.Runtime!);
        Run(sim, node, _ => store.RecoverAsync(new MemoryChunkIndex()), "recovery");
        var (first, second) = TwoChunksOfOneShard(seed);
        var shard = ChunkStore.PathOf(first.Id)[..ChunkStore.PathOf(first.Id).LastIndexOf('/')];
        var tmp = $"{ChunkStore.TmpDirectory}/{second.Id}.0.tmp";
        Run(sim, node, async rt =>
        {
            await using var file = await rt.Disk.CreateAsync(tmp);
            await file.AppendAsync(second.Data);
            await file.FsyncAsync();
            return true;
        }, "the second chunk's tmp file, ready to publish");

        // The first write creates the shard (chunks/xx/yy); the moment its fsync of chunks/xx is done (the disk
        // traces an operation when it completes), the shard's own entry is durable but chunks/xx's is not yet (the
        // root's fsync comes next), and the second chunk is published into the same shard.
        var shardEntryDurable = false;
        sim.Trace.Recorded += r => shardEntryDurable |= r is { Kind: TraceKind.Disk, Detail: var d }
            && d == "fsyncdir " + shard[..shard.LastIndexOf('/')];
        var firstWrite = node.Spawn(_ => store.WriteAsync(first.Id, first.Data));
        Assert.True(sim.RunUntil(() => shardEntryDurable, 10 * SimHarness.Second), "the first write's shard fsync");
        var publish = node.Spawn(_ => store.PublishAsync(second.Id, tmp, second.Data.Length));
        Assert.True(sim.RunUntil(() => publish.IsCompleted, 10 * SimHarness.Second), "the publish to complete");
        Assert.True(node.Disk.IsDurable(ChunkStore.PathOf(second.Id)),
            $"{second.Id[..12]} was published before its path would survive a crash (first write done: " +
            $"{firstWrite.IsCompleted})");
        Assert.True(sim.RunUntil(() => firstWrite.IsCompleted, 10 * SimHarness.Second), "the first write");
        node.Crash();
        Assert.True(node.Disk.Exists(ChunkStore.PathOf(first.Id)) && node.Disk.Exists(ChunkStore.PathOf(second.Id)),
            "both chunks survive a crash");
    }

    /// <summary>Two chunks whose ids share their first four hex digits (one shard directory).</summary>
    private static ((string Id, byte[] Data) First, (string Id, byte[] Data) Second) TwoChunksOfOneShard(ulong seed)
    {
        var byShard = new Dictionary<string, (string Id, byte[] Data)>(StringComparer.Ordinal);
        for (var i = 0UL; ; i++)
        {
            var chunk = MakeChunk(seed * 100_000 + i, 64);
            if (byShard.TryGetValue(chunk.Id[..4], out var other))
            {
                return (other, chunk);
            }

            byShard[chunk.Id[..4]] = chunk;
        }
    }

    [Fact]
    public void Recovery_removes_leftover_tmp_files_durably()
    {
        // Kills ChunkStore.Recovery.cs:135 the tmp directory's fsync removed and :133 "removed.Count > 0" negated:
        // the deletions stayed in the page cache, and a crash right after recovery brought the leftovers back.
        var (sim, node) = SimHarness.OneIdleNode(103, new DiskFaults { CrashKeepDirectoryProbability = 0 });
        using var _ = sim;
        var tmp = PlantTmpFile(sim, node);
        var report = Run(sim, node, rt => new ChunkStore(rt).RecoverAsync(new MemoryChunkIndex()), "recovery");
        Assert.Equal([tmp], report.TmpFilesRemoved);
        node.Crash();
        Assert.False(node.Disk.Exists(tmp), "a tmp file recovery removed came back after a crash");
    }

    [Fact]
    public void Confirming_a_chunk_checks_its_size_and_reads_a_deferred_one()
    {
        // Kills ChunkStore.Write.cs:79 "-1 -> +1" (without a key a stored length of 1 matched any size) and :71 the
        // deferred branch's "return await ConfirmDurableAsync(id)" removed (a deferred copy corrupted in place, same
        // length, was confirmed by its size).
        var (sim, node) = SimHarness.OneIdleNode(104);
        using var _ = sim;
        var (one, oneByte) = MakeChunk(104, 1);
        var (id, data) = MakeChunk(105, 3000);
        var writer = new ChunkStore(node.Runtime!);
        Run(sim, node, async _ => (await writer.WriteAsync(one, oneByte), await writer.WriteAsync(id, data)), "write");
        Assert.False(Run(sim, node, _ => writer.ConfirmPresentAsync(one, 2), "confirm a wrong size"));
        Assert.True(Run(sim, node, _ => writer.ConfirmPresentAsync(one, 1), "confirm the right size"));

        // Without a key no file is sealed: a stored length that a sealed copy of the size asked for would have is
        // no match (ChunkStore.Write.cs:79 "AtRestKey is null ? -1 : ..." as "false ? -1 : ...", ninth session).
        var (odd, oddData) = MakeChunk(107, (int)AtRestFormat.StoredLength(1000));
        Run(sim, node, _ => writer.WriteAsync(odd, oddData), "write");
        Assert.False(Run(sim, node, _ => writer.ConfirmPresentAsync(odd, 1000), "confirm the size it would have sealed"));

        var store = RecoverDeferred(sim, node);
        Assert.True(node.Disk.Corrupt(ChunkStore.PathOf(id)));
        Assert.False(Run(sim, node, _ => store.ConfirmPresentAsync(id, data.Length), "confirm a corrupt deferred"));
    }

    [Fact]
    public void A_read_a_delete_and_a_streaming_write_end_a_deferred_chunks_deferral()
    {
        // Kills the "Vouched(id)" calls removed: ChunkStore.cs:112 (ReadAsync), :168 (DeleteAsync) and
        // ChunkStore.Write.cs:166 (PublishAsync, a streaming write that replaced the unread copy): the chunk stayed
        // deferred, so the node went on to read it again at startup, or to hash it for every offer.
        var (sim, node) = SimHarness.OneIdleNode(106);
        using var _ = sim;
        var chunks = Enumerable.Range(0, 3).Select(i => MakeChunk(1060 + (ulong)i, 2000 + i)).ToList();
        var writer = new ChunkStore(node.Runtime!);
        foreach (var (id, data) in chunks)
        {
            Run(sim, node, _ => writer.WriteAsync(id, data), "write");
        }

        var store = RecoverDeferred(sim, node);
        Assert.All(chunks, c => Assert.True(store.IsDeferred(c.Id), "recovery left every chunk unread"));
        Run(sim, node, _ => store.ReadAsync(chunks[0].Id), "read").Dispose();
        Assert.True(Run(sim, node, _ => store.DeleteAsync(chunks[1].Id), "delete"));
        Assert.Equal(ChunkWriteOutcome.Written, Run(sim, node, async _ =>
        {
            await using var stream = await store.BeginWriteAsync(chunks[2].Id);
            await stream.AppendAsync(chunks[2].Data);
            return await stream.CommitAsync();
        }, "streaming write"));
        Assert.All(chunks, c => Assert.False(store.IsDeferred(c.Id), $"chunk {c.Id[..8]} is still deferred"));
        Assert.Equal(0, store.DeferredCount);
    }

    [Fact]
    public void A_streaming_write_refuses_a_bad_id_and_a_writer_past_the_bound()
    {
        // Kills ChunkStore.Write.cs:114 "RequireId" removed (a tmp file was created for "not-an-id") and :124 the
        // writers-in-flight invariant removed or "<" as "<=" (a 257th writer opened), with its message (:125).
        var (sim, node) = SimHarness.OneIdleNode(107);
        using var _ = sim;
        var store = new ChunkStore(node.Runtime!);
        var generation = node.Disk.Generation;
        var bad = Assert.Throws<ArgumentException>(
            () => Run(sim, node, _ => store.BeginWriteAsync("not-an-id"), "bad id"));
        Assert.Contains("is not a chunk id", bad.Message, StringComparison.Ordinal);
        Assert.Equal(generation, node.Disk.Generation);

        var past = Assert.Throws<InvariantViolationException>(() => Run(sim, node, async _ =>
        {
            var writers = new List<ChunkWriter>();
            try
            {
                for (var i = 0; i <= ChunkStore.WritersInFlightMax; i++)
                {
                    writers.Add(await store.BeginWriteAsync(MakeChunk(2000 + (ulong)i, 10).Id));
                }

                return writers.Count;
            }
            finally
            {
                foreach (var writer in writers)
                {
                    await writer.DisposeAsync();
                }
            }
        }, "one writer past the bound"));
        Assert.Equal($"more than {ChunkStore.WritersInFlightMax} chunk writers open: "
            + "the caller must bound its concurrent writes", past.Message);
        Assert.Equal(ChunkStore.WritersInFlightMax, OpenEveryWriterSlot(sim, node, store));
    }

    [Fact]
    public void A_writer_counts_its_bytes_gives_its_slot_back_at_commit_and_refuses_misuse()
    {
        // Kills ChunkStoreWriter.cs:94 "LengthBytes += segment.Length" removed; :139 "Close()" before publishing
        // removed (a writer committed without a dispose kept its slot); :110 and :176 "Enter()" / its
        // ObjectDisposedException removed (a use after commit failed elsewhere, on the disposed hash or file);
        // :177 the "two operations at once" invariant removed, and its message.
        var (sim, node) = SimHarness.OneIdleNode(108);
        using var _ = sim;
        var store = new ChunkStore(node.Runtime!);
        var (id, data) = MakeChunk(108, 3000);
        var writer = Run(sim, node, async _ =>
        {
            var writer = await store.BeginWriteAsync(id);
            await writer.AppendAsync(data.AsMemory(0, 1000));
            await writer.AppendAsync(data.AsMemory(1000));
            return writer;
        }, "two appends");
        Assert.Equal(data.Length, writer.LengthBytes);
        Assert.Equal(ChunkWriteOutcome.Written, Run(sim, node, _ => writer.CommitAsync(), "commit"));
        Assert.Equal(data.Length, store.BytesWritten);
        Assert.Equal(ChunkStore.WritersInFlightMax, OpenEveryWriterSlot(sim, node, store));

        var afterAppend = Assert.Throws<ObjectDisposedException>(() => Run(sim, node, async _ =>
        {
            await writer.AppendAsync(data);
            return true;
        }, "append after commit"));
        Assert.Equal(typeof(ChunkWriter).FullName, afterAppend.ObjectName);
        var afterCommit = Assert.Throws<ObjectDisposedException>(
            () => Run(sim, node, _ => writer.CommitAsync(), "commit after commit"));
        Assert.Equal(typeof(ChunkWriter).FullName, afterCommit.ObjectName);

        var (other, otherData) = MakeChunk(109, 3000);
        var twice = Run(sim, node, async _ =>
        {
            await using var busy = await store.BeginWriteAsync(other);
            var first = busy.AppendAsync(otherData);
            var second = await Record.ExceptionAsync(() => busy.AppendAsync(otherData));
            await first;
            return second;
        }, "two appends at once");
        var violation = Assert.IsType<InvariantViolationException>(twice);
        Assert.Contains($"chunk writer for {other} used by two operations at once", violation.Message,
            StringComparison.Ordinal);
    }

    [Fact]
    public void A_sealing_writer_seals_large_segments_as_pure_work_and_small_ones_inline()
    {
        // Kills ChunkStoreWriter.cs:169 each mutant of "segment.Length < PureWorkBytesMin ? inline : pure work":
        // forced either way, "<" as "<=" or ">=" (a 256 KiB segment sealed on the loop, or a 1 KB one sent off it).
        var (sim, node) = SimHarness.OneIdleNode(110);
        using var _ = sim;
        var work = new CountingPureWork();
        var store = new ChunkStore(node.Runtime! with { PureWork = work, AtRestKey = Key });
        var (id, data) = MakeChunk(110, ChunkWriter.PureWorkBytesMin + 1000);
        var runs = Run(sim, node, async _ =>
        {
            await using var writer = await store.BeginWriteAsync(id);
            var atStart = work.Runs;
            await writer.AppendAsync(data.AsMemory(0, ChunkWriter.PureWorkBytesMin));
            var afterLarge = work.Runs - atStart;
            await writer.AppendAsync(data.AsMemory(ChunkWriter.PureWorkBytesMin));
            var afterSmall = work.Runs - atStart - afterLarge;
            Assert.Equal(ChunkWriteOutcome.Written, await writer.CommitAsync());
            return (afterLarge, afterSmall);
        }, "a large and a small append, sealed");
        Assert.Equal((2, 0), runs); // The large segment: hashed and sealed as pure work; the small one: neither.
        Assert.Equal(data, Run(sim, node, _ => store.ReadAsync(id), "read back").Data.ToArray());
    }

    [Fact]
    public void A_walk_counts_only_chunk_files_in_their_own_shards()
    {
        // Kills ChunkStore.cs:234 both "&&" of IsShardName as "||" (the top-level "g0" or "abc" was walked), :477
        // "top.IsDirectory && IsShardName -> ||" (the top-level "zz" was walked), and :489 both logical mutants of
        // the chunk test (a directory named as an id in its shard, a file "readme" in a shard, or an id in another
        // id's shard counted as chunks).
        var (sim, node) = SimHarness.OneIdleNode(111);
        using var _ = sim;
        var (id, data) = MakeChunk(111, 500);
        var elsewhere = MakeChunk(112, 500).Id;
        var dirName = id[..4] + MakeChunk(113, 500).Id[4..];
        var shard = ChunkStore.PathOf(id)[..^65];
        var store = new ChunkStore(node.Runtime!);
        Run(sim, node, async rt =>
        {
            await store.WriteAsync(id, data);
            foreach (var top in new[] { "g0", "abc", "zz" })
            {
                await PlantAsync(rt.Disk, $"{ChunkStore.RootDirectory}/{top}/{id[2..4]}/{id}");
            }

            await rt.Disk.CreateDirectoryAsync(shard + "/" + dirName);
            await PlantAsync(rt.Disk, shard + "/readme");
            await PlantAsync(rt.Disk, shard + "/" + elsewhere);
            return true;
        }, "plant files that are not chunks");
        Assert.Equal([id], Run(sim, node, _ => store.ListAsync(), "list"));
        var report = Run(sim, node, rt => new ChunkStore(rt).RecoverAsync(new MemoryChunkIndex()), "recovery");
        Assert.Equal([id], report.Registered);
        Assert.Equal(new[] { shard + "/" + elsewhere, shard + "/" + dirName, shard + "/readme" }.Order(
            StringComparer.Ordinal), report.StrayFiles);
    }

    private static async Task PlantAsync(IDisk disk, string path)
    {
        await disk.CreateDirectoryAsync(path[..path.LastIndexOf('/')]);
        await using var file = await disk.CreateAsync(path);
        await file.AppendAsync(new byte[] { 1, 2, 3 });
    }

    /// <summary>A new incarnation's store over <paramref name="node"/>'s disk, recovered with every chunk deferred.
    /// </summary>
    private static ChunkStore RecoverDeferred(Simulation sim, SimNode node)
    {
        var store = new ChunkStore(node.Runtime!);
        var report = Run(sim, node, _ => store.RecoverAsync(new MemoryChunkIndex(), deferContent: true), "recover");
        Assert.True(report.Deferred > 0, "recovery deferred the chunks it found");
        return store;
    }

    /// <summary>A leftover tmp file as a crashed write leaves it, durable (so only a durable delete removes it).
    /// </summary>
    private static string PlantTmpFile(Simulation sim, SimNode node)
    {
        var path = ChunkStore.TmpDirectory + "/" + MakeChunk(199, 10).Id + ".0.tmp";
        Run(sim, node, async rt =>
        {
            await rt.Disk.CreateDirectoryAsync(ChunkStore.TmpDirectory);
            await using (var file = await rt.Disk.CreateAsync(path))
            {
                await file.AppendAsync(new byte[] { 4, 5, 6 });
                await file.FsyncAsync();
            }

            foreach (var dir in new[] { ChunkStore.TmpDirectory, ChunkStore.RootDirectory, "" })
            {
                await rt.Disk.FsyncDirectoryAsync(dir);
            }

            return true;
        }, "plant a tmp file");
        Assert.True(node.Disk.IsDurable(path), "the planted tmp file is durable");
        return path;
    }
}
