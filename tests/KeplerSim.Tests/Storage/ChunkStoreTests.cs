using KeplerSim.Core.Diagnostics;
using KeplerSim.Core.Runtime;
using KeplerSim.Core.Storage;
using KeplerSim.Sim.Kernel;
using KeplerSim.Tests.Sim;

using static KeplerSim.Tests.Storage.StoreTestKit;

namespace KeplerSim.Tests.Storage;

/// <summary>The metadata index as the chunk store sees it; SQLite stands here later. Survives crashes.</summary>
internal sealed class MemoryChunkIndex : IChunkIndex
{
    public SortedDictionary<string, long> Present { get; } = new(StringComparer.Ordinal);

    public SortedSet<string> Missing { get; } = new(StringComparer.Ordinal);

    public IReadOnlyList<string> KnownChunks() => [.. Present.Keys];

    public void MarkPresent(string id, long sizeBytes)
    {
        Present[id] = sizeBytes;
        Missing.Remove(id);
    }

    public void MarkMissing(string id)
    {
        Present.Remove(id);
        Missing.Add(id);
    }
}

[Trait("Category", "Fast")]
public sealed class ChunkStoreTests
{
    private const int FrameBytes = 64 << 10;

    private static IReadOnlyList<string> ChunkFiles(SimNode node) =>
        [.. node.Disk.AllFiles().Where(f => f.StartsWith(ChunkStore.RootDirectory + "/", StringComparison.Ordinal))];

    private static async Task<ChunkWriteOutcome> StreamAsync(ChunkStore store, string id, byte[] data, int frameBytes)
    {
        await using var writer = await store.BeginWriteAsync(id);
        for (var at = 0; at < data.Length; at += frameBytes)
        {
            await writer.AppendAsync(data.AsMemory(at, Math.Min(frameBytes, data.Length - at)));
        }

        return await writer.CommitAsync();
    }

    [Fact]
    public void Limits_relate_sensibly()
    {
        Assert.True(ChunkStore.ChunkSizeBytesDefault <= ChunkStore.ChunkSizeBytesMax);
        Assert.Equal(0, ChunkStore.ChunkSizeBytesDefault % FrameBytes);
        Assert.True(ChunkStore.WritersInFlightMax > 0);
    }

    [Fact]
    public void Write_then_read_is_byte_identical_and_durable_on_return()
    {
        var (sim, node) = SimHarness.OneIdleNode(11);
        using var _ = sim;
        var (id, data) = MakeChunk(1, 100_000);
        var store = new ChunkStore(node.Runtime!);
        var outcome = Run(sim, node, _ => store.WriteAsync(id, data), "write");
        Assert.Equal(ChunkWriteOutcome.Written, outcome);
        var path = ChunkStore.PathOf(id);
        Assert.Equal($"chunks/{id[..2]}/{id[2..4]}/{id}", path);
        Assert.True(node.Disk.IsDurable(path), "an acknowledged chunk must be durable, its shard directories too");
        Assert.Equal([path], ChunkFiles(node));

        var read = Run(sim, node, _ => store.ReadAsync(id), "read");
        Assert.Equal(ChunkStatus.Ok, read.Status);
        Assert.Equal(data, read.Data.ToArray());
        var range = Run(sim, node, _ => store.ReadRangeAsync(id, 70_000, 30_000), "range read");
        Assert.Equal(data.AsSpan(70_000, 30_000).ToArray(), range.Data.ToArray());
        Assert.Throws<ArgumentOutOfRangeException>(
            () => Run(sim, node, _ => store.ReadRangeAsync(id, 70_001, 30_000), "range past the end"));
        Assert.Equal((1L, 100_000L, 3L), (store.ChunksWritten, store.BytesWritten, store.ChunksRead));
    }

    [Fact]
    public void Acknowledged_write_survives_a_crash_that_reverts_every_unsynced_directory()
    {
        // Directories revert to their last fsync on every crash: a missing fsync of any shard ancestor loses it.
        var faults = new DiskFaults { CrashKeepDirectoryProbability = 0, CrashKeepProbability = 0 };
        var (sim, node) = SimHarness.OneIdleNode(12, faults);
        using var _ = sim;
        var (id, data) = MakeChunk(2, 5000);
        Run(sim, node, rt => new ChunkStore(rt).WriteAsync(id, data), "write");
        node.Restart();
        Assert.Equal(data, node.Disk.Peek(ChunkStore.PathOf(id)));
        var read = Run(sim, node, rt => new ChunkStore(rt).ReadAsync(id), "read after crash");
        Assert.Equal(data, read.Data.ToArray());
    }

    [Fact]
    public void Rewriting_a_stored_chunk_is_a_no_op_in_this_and_the_next_incarnation()
    {
        var (sim, node) = SimHarness.OneIdleNode(13);
        using var _ = sim;
        var (id, data) = MakeChunk(3, 4096);
        var store = new ChunkStore(node.Runtime!);
        Assert.Equal(ChunkWriteOutcome.Written, Run(sim, node, _ => store.WriteAsync(id, data), "first write"));
        Assert.Equal(ChunkWriteOutcome.AlreadyPresent, Run(sim, node, _ => store.WriteAsync(id, data), "rewrite"));
        Assert.Equal((1L, 1L, 4096L), (store.ChunksWritten, store.ChunksAlreadyPresent, store.BytesWritten));

        node.Restart();
        var again = Run(sim, node, rt => new ChunkStore(rt).WriteAsync(id, data), "rewrite after restart");
        Assert.Equal(ChunkWriteOutcome.AlreadyPresent, again);
        Assert.Equal([ChunkStore.PathOf(id)], ChunkFiles(node));
    }

    [Fact]
    public void Rewrite_racing_a_write_acknowledges_only_once_the_first_rename_is_durable()
    {
        // The rewrite finds the chunk renamed into place while the first write's directory fsync is still in
        // flight; answering "already present" at that moment would acknowledge a chunk a crash can still lose.
        var faults = new DiskFaults
        {
            LatencyMinMicroseconds = 100, LatencyMaxMicroseconds = 100,
            CrashKeepProbability = 0, CrashKeepDirectoryProbability = 0,
        };
        var (sim, node) = SimHarness.OneIdleNode(22, faults);
        using var _ = sim;
        var (id, data) = MakeChunk(12, 50_000);
        var path = ChunkStore.PathOf(id);
        var store = new ChunkStore(node.Runtime!);
        var first = node.Spawn(_ => StreamAsync(store, id, data, FrameBytes));
        Assert.True(sim.RunUntil(() => node.Disk.Peek(path) is not null, SimHarness.Second), "first write's rename");
        Assert.False(first.IsCompleted, "the first write should still be fsyncing its directory");
        Assert.False(node.Disk.IsDurable(path));

        var second = node.Spawn(_ => store.WriteAsync(id, data));
        Assert.Equal(ChunkWriteOutcome.AlreadyPresent, sim.Await(second, "the rewrite"));
        Assert.True(node.Disk.IsDurable(path), "a chunk acknowledged as already present must be durable");
        node.Restart();
        Assert.Equal(data, node.Disk.Peek(path));
    }

    [Fact]
    public void Mismatched_bytes_are_rejected_and_nothing_is_stored()
    {
        var (sim, node) = SimHarness.OneIdleNode(14);
        using var _ = sim;
        var (id, data) = MakeChunk(4, 10_000);
        var other = MakeChunk(5, 10_000).Data;
        var store = new ChunkStore(node.Runtime!);

        var whole = Assert.Throws<ChunkMismatchException>(
            () => Run(sim, node, _ => store.WriteAsync(id, other), "mismatched write"));
        Assert.Equal(id, whole.ChunkId);
        Assert.Equal(ChunkStore.IdOf(other), whole.ActualHash);
        Assert.Empty(node.Disk.AllFiles());

        // Streaming: the mismatch shows only at commit, after the bytes reached the tmp file; it must go.
        Assert.Throws<ChunkMismatchException>(
            () => Run(sim, node, _ => StreamAsync(store, id, other, FrameBytes / 16), "mismatched stream"));
        Assert.Empty(node.Disk.AllFiles());
        Assert.Equal(ChunkStatus.Missing, Run(sim, node, _ => store.ReadAsync(id), "read").Status);
        Assert.Equal((2L, 0L), (store.WritesRejected, store.ChunksWritten));
        Assert.Throws<ArgumentException>(
            () => Run(sim, node, _ => store.WriteAsync(id.ToUpperInvariant(), data), "bad id"));
    }

    [Fact]
    public void Oversized_chunk_is_rejected_before_touching_the_disk()
    {
        var (sim, node) = SimHarness.OneIdleNode(15);
        using var _ = sim;
        var big = new byte[ChunkStore.ChunkSizeBytesMax + 1];
        var store = new ChunkStore(node.Runtime!);
        Assert.Throws<ChunkTooLargeException>(
            () => Run(sim, node, _ => store.WriteAsync(ChunkStore.IdOf(big), big), "oversized write"));
        Assert.Empty(node.Disk.AllFiles());
    }

    [Fact]
    public void Streaming_write_in_64_KiB_frames_commits_and_an_abandoned_one_leaves_nothing()
    {
        var (sim, node) = SimHarness.OneIdleNode(16);
        using var _ = sim;
        var (id, data) = MakeChunk(6, (1 << 20) + 123);
        var store = new ChunkStore(node.Runtime!);
        var outcome = Run(sim, node, _ => StreamAsync(store, id, data, FrameBytes), "stream");
        Assert.Equal(ChunkWriteOutcome.Written, outcome);
        Assert.Equal(data, Run(sim, node, _ => store.ReadAsync(id), "read").Data.ToArray());
        Assert.True(node.Disk.IsDurable(ChunkStore.PathOf(id)));

        var (abandonedId, abandoned) = MakeChunk(7, 3 * FrameBytes);
        Run(sim, node, async _ =>
        {
            await using var writer = await store.BeginWriteAsync(abandonedId);
            await writer.AppendAsync(abandoned.AsMemory(0, FrameBytes));
            return writer.LengthBytes;
        }, "abandoned stream");
        Assert.Equal([ChunkStore.PathOf(id)], ChunkFiles(node));
    }

    [Fact]
    public void Corrupt_chunk_is_reported_never_returned_and_a_rewrite_repairs_it()
    {
        var (sim, node) = SimHarness.OneIdleNode(17);
        using var _ = sim;
        var (id, data) = MakeChunk(8, 20_000);
        var events = new List<KeplerEvent>();
        node.Runtime!.Events.Stream.Subscribe(events.Add);
        var store = new ChunkStore(node.Runtime!);
        Run(sim, node, _ => store.WriteAsync(id, data), "write");
        Assert.True(node.Disk.Corrupt(ChunkStore.PathOf(id)));

        var read = Run(sim, node, _ => store.ReadAsync(id), "read corrupt");
        Assert.Equal(ChunkStatus.Corrupt, read.Status);
        Assert.Throws<InvalidOperationException>(() => read.Data);
        Assert.Equal(ChunkStatus.Corrupt, Run(sim, node, _ => store.ReadRangeAsync(id, 0, 10), "range").Status);
        Assert.Equal(ChunkStatus.Corrupt, Run(sim, node, _ => store.VerifyAsync(id), "verify"));
        Assert.Equal(3L, store.CorruptDetected);
        var corrupt = Assert.IsType<ChunkCorruptEvent>(events[0]);
        Assert.Equal(("chunk.corrupt", id), (corrupt.Kind, corrupt.ChunkId));
        Assert.StartsWith("hash mismatch", corrupt.Reason, StringComparison.Ordinal);

        Assert.Equal(ChunkWriteOutcome.Repaired, Run(sim, node, _ => store.WriteAsync(id, data), "repair"));
        Assert.Equal(data, Run(sim, node, _ => store.ReadAsync(id), "read repaired").Data.ToArray());
        Assert.Equal(ChunkStatus.Ok, Run(sim, node, _ => store.VerifyAsync(id), "verify repaired"));
    }

    [Fact]
    public void Missing_chunk_reads_as_missing_and_delete_is_durable()
    {
        var faults = new DiskFaults { CrashKeepDirectoryProbability = 0 };
        var (sim, node) = SimHarness.OneIdleNode(18, faults);
        using var _ = sim;
        var (id, data) = MakeChunk(9, 777);
        var store = new ChunkStore(node.Runtime!);
        Assert.Equal(ChunkStatus.Missing, Run(sim, node, _ => store.ReadAsync(id), "read missing").Status);
        Assert.Equal(ChunkStatus.Missing, Run(sim, node, _ => store.VerifyAsync(id), "verify missing"));
        Assert.False(Run(sim, node, _ => store.DeleteAsync(id), "delete missing"));

        Run(sim, node, _ => store.WriteAsync(id, data), "write");
        Assert.True(Run(sim, node, _ => store.ExistsAsync(id), "exists"));
        Assert.True(Run(sim, node, _ => store.DeleteAsync(id), "delete"));
        node.Restart();
        Assert.False(Run(sim, node, rt => new ChunkStore(rt).ExistsAsync(id), "exists after crash"));
        Assert.Empty(node.Disk.AllFiles());
    }

    [Fact]
    public void List_walks_the_shards_in_ordinal_order()
    {
        var (sim, node) = SimHarness.OneIdleNode(19);
        using var _ = sim;
        var random = new DeterministicRandom(19);
        var chunks = Enumerable.Range(0, 20).Select(i => MakeChunk(random, 100 + i)).ToList();
        var store = new ChunkStore(node.Runtime!);
        Run(sim, node, async _ =>
        {
            foreach (var (id, data) in chunks)
            {
                await store.WriteAsync(id, data);
            }

            return true;
        }, "writes");
        var listed = Run(sim, node, _ => store.ListAsync(), "list");
        Assert.Equal(chunks.Select(c => c.Id).Order(StringComparer.Ordinal), listed);
    }

    [Fact]
    public void Full_disk_fails_the_write_and_leaves_nothing_partial()
    {
        var (sim, node) = SimHarness.OneIdleNode(20, new DiskFaults { CapacityBytes = 10_000 });
        using var _ = sim;
        var (fitsId, fits) = MakeChunk(10, 4_000);
        var (tooBigId, tooBig) = MakeChunk(11, 8_000);
        var store = new ChunkStore(node.Runtime!);
        Run(sim, node, _ => store.WriteAsync(fitsId, fits), "write that fits");
        Assert.Throws<DiskFullException>(() => Run(sim, node, _ => store.WriteAsync(tooBigId, tooBig), "whole"));
        Assert.Equal([ChunkStore.PathOf(fitsId)], node.Disk.AllFiles());

        // Streaming: the first frames fit, a later one does not; the failed append alone must delete the partial
        // tmp file, even for a caller that never disposes its writer.
        Assert.Throws<DiskFullException>(() => Run(sim, node, async _ =>
        {
            var writer = await store.BeginWriteAsync(tooBigId);
            for (var at = 0; at < tooBig.Length; at += 1000)
            {
                await writer.AppendAsync(tooBig.AsMemory(at, 1000));
            }

            return writer.LengthBytes;
        }, "stream"));
        Assert.Equal([ChunkStore.PathOf(fitsId)], node.Disk.AllFiles());
        Assert.Equal(4_000, node.Disk.UsedBytes);
        Assert.Equal(ChunkStatus.Missing, Run(sim, node, _ => store.VerifyAsync(tooBigId), "verify"));
    }

    [Fact]
    public void Recovery_cleans_tmp_files_and_reconciles_disk_with_the_index()
    {
        // Nothing is lost by the crash itself here: the test is about what recovery does with what it finds.
        var faults = new DiskFaults
        {
            CrashTornProbability = 0, CrashKeepProbability = 1, CrashKeepDirectoryProbability = 1,
        };
        var (sim, node) = SimHarness.OneIdleNode(21, faults);
        using var _ = sim;
        var random = new DeterministicRandom(21);
        var (knownValid, knownValidData) = MakeChunk(random, 3000);
        var (knownCorrupt, knownCorruptData) = MakeChunk(random, 3000);
        var (validUnknown, validUnknownData) = MakeChunk(random, 3000);
        var knownMissing = MakeChunk(random, 3000).Id;
        var corruptUnknown = MakeChunk(random, 3000).Id;
        var tmpLeftover = ChunkStore.TmpDirectory + "/" + knownMissing + ".7.tmp";
        var stray = ChunkStore.PathOf(knownValid)[..^64] + "stray.bin";
        var index = new MemoryChunkIndex();
        Run(sim, node, async rt =>
        {
            var store = new ChunkStore(rt);
            await store.RecoverAsync(index);
            await store.WriteAsync(knownValid, knownValidData);
            await store.WriteAsync(knownCorrupt, knownCorruptData);
            await store.WriteAsync(validUnknown, validUnknownData);
            index.MarkPresent(knownValid, 3000);
            index.MarkPresent(knownCorrupt, 3000);
            index.MarkPresent(knownMissing, 3000);
            // A torn chunk under its final name (as a buggy or foreign writer might leave), a leftover tmp file
            // and a file that is not a chunk at all.
            var torn = ChunkStore.PathOf(corruptUnknown);
            await rt.Disk.CreateDirectoryAsync(torn[..^65]);
            foreach (var path in new[] { torn, tmpLeftover, stray })
            {
                await using var file = await rt.Disk.CreateAsync(path);
                await file.AppendAsync(validUnknownData.AsMemory(0, 100));
            }

            return true;
        }, "setup");
        Assert.True(node.Disk.Corrupt(ChunkStore.PathOf(knownCorrupt)));

        node.Restart();
        var events = new List<KeplerEvent>();
        node.Runtime!.Events.Stream.Subscribe(events.Add);
        var report = Run(sim, node, rt => new ChunkStore(rt).RecoverAsync(index), "recovery");
        Assert.Equal([tmpLeftover], report.TmpFilesRemoved);
        Assert.Equal(1, report.ChunksVerified);
        Assert.Equal([validUnknown], report.Registered);
        Assert.Equal([corruptUnknown], report.DeletedCorrupt);
        Assert.Equal([knownMissing], report.MissingKnown);
        Assert.Equal([knownCorrupt], report.CorruptKnown);
        Assert.Equal([stray], report.StrayFiles);
        Assert.Equal(new[] { knownMissing, knownCorrupt }.Order(StringComparer.Ordinal), report.NeedsRepair);
        Assert.Equal(new[] { knownValid, validUnknown }.Order(StringComparer.Ordinal), index.Present.Keys);
        Assert.Equal(new[] { knownMissing, knownCorrupt }.Order(StringComparer.Ordinal), index.Missing);
        Assert.Equal(3000, index.Present[validUnknown]);
        var expectedFiles = new[] { ChunkStore.PathOf(knownValid), ChunkStore.PathOf(validUnknown), stray };
        Assert.Equal(expectedFiles.Order(StringComparer.Ordinal), node.Disk.AllFiles());
        var kinds = events.Select(e => e.Kind).Order(StringComparer.Ordinal);
        Assert.Equal(["chunk.corrupt", "chunk.corrupt", "chunk.missing", "chunk.missing", "chunk.recovered",
            "chunk.tmp_cleaned"], kinds);

        var again = Run(sim, node, rt => new ChunkStore(rt).RecoverAsync(index), "second recovery");
        Assert.Equal(2, again.ChunksVerified);
        Assert.Empty(again.TmpFilesRemoved.Concat(again.Registered).Concat(again.DeletedCorrupt)
            .Concat(again.NeedsRepair));
    }

    private const int CrashSeedCount = 200;
    private const int CrashChunkCount = 8;

    /// <summary>The crash workload takes 24 to 37 ms of virtual time uncrashed; crash anywhere in [0, 40 ms).</summary>
    private const long CrashWindowMicroseconds = 40_000;

    [Fact]
    public void Crash_at_any_point_keeps_acknowledged_chunks_and_never_exposes_a_torn_one()
    {
        var marks = new SortedDictionary<string, int>(StringComparer.Ordinal);
        for (ulong seed = 1; seed <= CrashSeedCount; seed++)
        {
            foreach (var (mark, hit) in CrashOnce(seed).Marks)
            {
                marks[mark] = marks.GetValueOrDefault(mark) + (hit ? 1 : 0);
            }
        }

        // Coverage marks: across the seeds the crash really fell in every interesting place.
        foreach (var (mark, count) in marks)
        {
            Assert.True(count > 0, $"no seed exercised '{mark}'");
        }
    }

    [Fact]
    public void Crash_run_replays_bit_for_bit_from_its_seed()
    {
        Assert.Equal(CrashOnce(42).TraceHash, CrashOnce(42).TraceHash);
        Assert.NotEqual(CrashOnce(42).TraceHash, CrashOnce(43).TraceHash);
    }

    private sealed record CrashRun(SortedDictionary<string, bool> Marks, string TraceHash);

    private static CrashRun CrashOnce(ulong seed)
    {
        var random = new DeterministicRandom(DeterministicRandom.Derive(seed, "chunk-crash-test"));
        var (sim, node) = SimHarness.OneIdleNode(seed);
        using var _ = sim;
        var chunks = Enumerable.Range(0, CrashChunkCount).Select(_ => MakeChunk(random, random.NextInt(48_000)))
            .ToDictionary(c => c.Id, c => c.Data, StringComparer.Ordinal);
        var ids = chunks.Keys.Order(StringComparer.Ordinal).ToList();
        var index = new MemoryChunkIndex();
        var acked = new SortedSet<string>(StringComparer.Ordinal);
        var workload = node.Spawn(async rt =>
        {
            var store = new ChunkStore(rt);
            await store.RecoverAsync(index);
            async Task WriteAndAck(int i)
            {
                var outcome = i % 2 == 0
                    ? await store.WriteAsync(ids[i], chunks[ids[i]])
                    : await StreamAsync(store, ids[i], chunks[ids[i]], 4096);
                Assert.True(node.Disk.IsDurable(ChunkStore.PathOf(ids[i])), $"{outcome} chunk not durable on ack");
                index.MarkPresent(ids[i], chunks[ids[i]].Length);
                acked.Add(ids[i]);
            }

            for (var i = 0; i < CrashChunkCount / 2; i++)
            {
                await WriteAndAck(i);
            }

            // The rest concurrently, with a rewrite of an acknowledged chunk racing them.
            var concurrent = Enumerable.Range(CrashChunkCount / 2, CrashChunkCount / 2).Append(0);
            await Task.WhenAll(concurrent.Select(WriteAndAck));
        });
        sim.RunFor(random.NextLong(0, CrashWindowMicroseconds));
        var completed = workload.IsCompleted;
        if (workload.IsFaulted)
        {
            workload.GetAwaiter().GetResult();
        }

        node.Crash();
        var crashedInRecovery = random.Chance(0.3);
        if (crashedInRecovery)
        {
            // A second crash part-way through recovery: recovery itself must be crash-safe and repeatable.
            node.Start();
            var interrupted = node.Spawn(rt => new ChunkStore(rt).RecoverAsync(index));
            sim.RunFor(random.NextLong(0, 5_000));
            if (interrupted.IsFaulted)
            {
                interrupted.GetAwaiter().GetResult();
            }

            node.Crash();
        }

        node.Start();
        var report = Run(sim, node, rt => new ChunkStore(rt).RecoverAsync(index), $"recovery (seed {seed})");
        CheckAfterRecovery(sim, node, seed, chunks, acked, index);
        var marks = new SortedDictionary<string, bool>(StringComparer.Ordinal)
        {
            ["crash before every write was acknowledged"] = acked.Count < CrashChunkCount,
            ["crash after every write was acknowledged"] = completed,
            ["tmp files cleaned"] = report.TmpFilesRemoved.Count > 0,
            ["unacknowledged chunk found valid and registered"] = report.Registered.Count > 0,
            ["crash during recovery"] = crashedInRecovery,
        };
        return new CrashRun(marks, sim.Trace.Hash);
    }

    private static void CheckAfterRecovery(Simulation sim, SimNode node, ulong seed,
        Dictionary<string, byte[]> chunks, SortedSet<string> acked, MemoryChunkIndex index)
    {
        var files = node.Disk.AllFiles();
        foreach (var file in files)
        {
            // Every file left is a whole chunk of the workload under its own name: nothing torn, nothing tmp.
            var name = file[(file.LastIndexOf('/') + 1)..];
            Assert.True(ChunkStore.IsValidId(name), $"seed {seed}: {file} is not a chunk");
            Assert.Equal(ChunkStore.PathOf(name), file);
            Assert.Equal(chunks[name], node.Disk.Peek(file));
        }

        foreach (var id in acked)
        {
            var read = Run(sim, node, rt => new ChunkStore(rt).ReadAsync(id), $"read of acknowledged {id}");
            Assert.True(read.IsOk, $"seed {seed}: acknowledged chunk {id} is {read.Status} after crash");
            Assert.Equal(chunks[id], read.Data.ToArray());
        }

        var listed = Run(sim, node, rt => new ChunkStore(rt).ListAsync(), "list");
        Assert.Equal(listed, index.Present.Keys);
        Assert.Subset(new SortedSet<string>(index.Present.Keys, StringComparer.Ordinal), acked);
        var again = Run(sim, node, rt => new ChunkStore(rt).RecoverAsync(index), "second recovery");
        Assert.Empty(again.TmpFilesRemoved.Concat(again.Registered).Concat(again.NeedsRepair));
    }
}
