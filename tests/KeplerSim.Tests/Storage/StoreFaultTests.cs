using KeplerSim.Core;
using KeplerSim.Core.Runtime;
using KeplerSim.Core.Storage;
using KeplerSim.Sim.Kernel;
using KeplerSim.Tests.Sim;

using static KeplerSim.Tests.Storage.StoreTestKit;

namespace KeplerSim.Tests.Storage;

/// <summary>
/// The chunk store under the faults its earlier tests never injected: a directory entry not yet durable when a
/// copy is confirmed, a create or an fsync that fails, a writer disposed during an append, hashing still running
/// when an append fails, and a file that is oversized, deleted or shrinks between the stat and the read. Written
/// for the open Stryker survivors of Storage/ (docs/TESTING.md "Storage survivors"); each test names the mutants it
/// kills as "original -> mutation", each checked by applying it by hand.
/// </summary>
[Trait("Category", "Fast")]
public sealed class StoreFaultTests
{
    /// <summary>Every disk operation takes exactly this long (a directory fsync ten times as long).</summary>
    private const long Latency = 100;

    [Fact]
    public void A_copy_renamed_but_not_yet_fsynced_is_made_durable_before_it_is_confirmed_or_found_present()
    {
        // Kills in ChunkStore.Write.cs: "await MakeEntryDurableAsync(id)" removed from WriteAsync's already-present
        // branch, from ConfirmPresentAsync and from ConfirmDurableAsync. A first write has renamed the chunk into
        // its shard and waits for the shard's fsync (ten disk latencies); each of these answers sooner than that
        // without its own fsync, acknowledging a copy a power loss could still take away.
        var (sim, node) = SimHarness.OneIdleNode(81, FixedLatency());
        using var _ = sim;
        var (id, data) = MakeChunk(81, 4000);
        var store = new ChunkStore(node.Runtime!);
        var first = node.Spawn(_ => store.WriteAsync(id, data));
        Assert.True(sim.RunUntil(() => node.Disk.Exists(ChunkStore.PathOf(id)), SimHarness.Second),
            "the first write to rename its tmp file into the shard");
        Assert.False(node.Disk.IsDurable(ChunkStore.PathOf(id)), "the rename is not fsync'd yet");

        var durableWhenAnswered = new List<(string Call, bool Durable)>();
        Task<bool> Answer(string call, Func<Task<bool>> confirm) => node.Spawn(async _ =>
        {
            var answer = await confirm();
            durableWhenAnswered.Add((call, node.Disk.IsDurable(ChunkStore.PathOf(id))));
            return answer;
        });
        var again = Answer("write", async () => await store.WriteAsync(id, data) == ChunkWriteOutcome.AlreadyPresent);
        var present = Answer("confirm present", () => store.ConfirmPresentAsync(id, data.Length));
        var durable = Answer("confirm durable", () => store.ConfirmDurableAsync(id));
        Assert.True(sim.Await(again, "the second write"));
        Assert.True(sim.Await(present, "confirm present"));
        Assert.True(sim.Await(durable, "confirm durable"));
        Assert.Equal(ChunkWriteOutcome.Written, sim.Await(first, "the first write"));
        Assert.Equal(3, durableWhenAnswered.Count);
        Assert.All(durableWhenAnswered,
            answer => Assert.True(answer.Durable, $"{answer.Call} answered before the fsync"));
    }

    [Fact]
    public void A_copy_left_by_an_earlier_incarnation_is_made_durable_with_its_shard_before_it_is_confirmed()
    {
        // Kills in ChunkStore.Write.cs: "await EnsureDirectoryDurableAsync(ShardOf(id))" removed from
        // MakeEntryDurableAsync, and MakeEntryDurableAsync removed from each caller. An incarnation killed between
        // its mkdir and its fsyncs leaves a chunk whose shard directories exist only in the page cache (the
        // simulator's crash is a power loss, which reverts them, so the state is built by hand here): a new
        // incarnation must fsync the shard's ancestors too, not only the shard, before vouching for the copy.
        var (sim, node) = SimHarness.OneIdleNode(82);
        using var _ = sim;
        var chunks = Enumerable.Range(0, 3).Select(i => MakeChunk(820 + (ulong)i, 3000)).ToList();
        foreach (var (id, data) in chunks)
        {
            PlantUnsyncedCopy(sim, node, id, data);
        }

        var store = new ChunkStore(node.Runtime!);
        var index = new MemoryChunkIndex();
        Run(sim, node, _ => store.RecoverAsync(index), "recovery");
        Assert.Equal(chunks.Select(c => c.Id).Order(StringComparer.Ordinal), index.Present.Keys);
        Assert.All(chunks, c => Assert.False(node.Disk.IsDurable(ChunkStore.PathOf(c.Id)), "recovery fsyncs no shard"));

        Assert.Equal(ChunkWriteOutcome.AlreadyPresent,
            Run(sim, node, _ => store.WriteAsync(chunks[0].Id, chunks[0].Data), "write of a chunk already there"));
        Assert.True(node.Disk.IsDurable(ChunkStore.PathOf(chunks[0].Id)), "durable once a write found it present");
        Assert.True(Run(sim, node, _ => store.ConfirmPresentAsync(chunks[1].Id, chunks[1].Data.Length), "present"));
        Assert.True(node.Disk.IsDurable(ChunkStore.PathOf(chunks[1].Id)), "durable once confirmed present");
        Assert.True(Run(sim, node, _ => store.ConfirmDurableAsync(chunks[2].Id), "durable"));
        Assert.True(node.Disk.IsDurable(ChunkStore.PathOf(chunks[2].Id)), "durable once confirmed durable");
    }

    [Fact]
    public void A_create_that_fails_gives_its_writer_slot_back()
    {
        // Kills in ChunkStore.Write.cs: "_writersInFlight--" removed (or "++") where creating the tmp file fails:
        // every failed create leaked a slot, and after WritersInFlightMax of them the store refused all writes.
        var (sim, node) = SimHarness.OneIdleNode(83);
        using var _ = sim;
        var (id, data) = MakeChunk(83, 2000);
        var store = new ChunkStore(node.Runtime!);
        node.Disk.Faults = node.Disk.Faults with { WriteErrorProbability = 1 };
        var error = Assert.Throws<DiskIOException>(() => Run(sim, node, _ => store.WriteAsync(id, data), "write"));
        Assert.Contains("creating chunks/tmp/", error.Message, StringComparison.Ordinal);
        Assert.Empty(node.Disk.AllFiles());

        node.Disk.Faults = node.Disk.Faults with { WriteErrorProbability = 0 };
        Assert.Equal(ChunkStore.WritersInFlightMax, OpenEveryWriterSlot(sim, node, store));
        Assert.Equal(ChunkWriteOutcome.Written, Run(sim, node, _ => store.WriteAsync(id, data), "write again"));
    }

    [Fact]
    public void An_fsync_failure_at_commit_abandons_the_write_and_publishes_nothing()
    {
        // Kills in ChunkStoreWriter.cs: "await AbandonAsync()" removed after the tmp file's fsync failed (the tmp
        // file stayed, the writer stayed open and its slot was never given back) and its "throw" removed (the
        // commit went on to rename a file it had deleted, failing with another error).
        var (sim, node) = SimHarness.OneIdleNode(84);
        using var _ = sim;
        var (id, data) = MakeChunk(84, 5000);
        var store = new ChunkStore(node.Runtime!);
        var writer = Run(sim, node, async _ =>
        {
            var writer = await store.BeginWriteAsync(id);
            await writer.AppendAsync(data);
            return writer;
        }, "begin and append");

        node.Disk.Faults = node.Disk.Faults with { WriteErrorProbability = 1 };
        var error = Assert.Throws<DiskIOException>(() => Run(sim, node, _ => writer.CommitAsync(), "commit"));
        Assert.Contains("fsyncing chunks/tmp/", error.Message, StringComparison.Ordinal);
        node.Disk.Faults = node.Disk.Faults with { WriteErrorProbability = 0 };
        Assert.DoesNotContain(node.Disk.AllFiles(), IsTmpFile);
        Assert.False(node.Disk.Exists(ChunkStore.PathOf(id)));
        Assert.Throws<ObjectDisposedException>(() => Run(sim, node, async _ =>
        {
            await writer.AppendAsync(data);
            return true;
        }, "append after the failed commit"));
        Assert.Equal(ChunkStore.WritersInFlightMax, OpenEveryWriterSlot(sim, node, store));
    }

    [Fact]
    public void Disposing_a_writer_during_an_append_is_refused_as_a_bug()
    {
        // Kills in ChunkStoreWriter.cs: the "disposed during an operation" invariant of DisposeAsync removed (the
        // dispose deleted the tmp file and closed the writer under the pending append).
        var (sim, node) = SimHarness.OneIdleNode(85);
        using var _ = sim;
        var (id, data) = MakeChunk(85, 3000);
        var store = new ChunkStore(node.Runtime!);
        var refused = Run(sim, node, async _ =>
        {
            var writer = await store.BeginWriteAsync(id);
            var append = writer.AppendAsync(data);
            Assert.False(append.IsCompleted, "the append waits for the disk");
            var thrown = await Record.ExceptionAsync(() => writer.DisposeAsync().AsTask());
            await append;
            Assert.Equal(ChunkWriteOutcome.Written, await writer.CommitAsync());
            return thrown;
        }, "dispose during an append");
        var violation = Assert.IsType<InvariantViolationException>(refused);
        Assert.Contains("disposed during an operation", violation.Message, StringComparison.Ordinal);
        Assert.Equal(data, Run(sim, node, _ => store.ReadAsync(id), "read").Data.ToArray());
    }

    [Fact]
    public void An_append_that_fails_waits_for_its_hashing_before_abandoning_the_write()
    {
        // Kills in ChunkStoreWriter.cs: "await hashing" removed from the append's failure path. On a real node a
        // large segment is hashed on another core while the disk writes it; abandoning the write disposes the hash
        // under that work. Inline pure work (the simulator's) finishes first, so this store's pure work runs a
        // virtual millisecond later, as the thread pool might.
        var (sim, node) = SimHarness.OneIdleNode(86);
        using var _ = sim;
        var pureWork = new DeferredPureWork(node.Runtime!.Clock, 1000);
        var store = new ChunkStore(node.Runtime! with { PureWork = pureWork });
        var (id, data) = MakeChunk(86, ChunkWriter.PureWorkBytesMin);
        var pendingAtFailure = Run(sim, node, async _ =>
        {
            var writer = await store.BeginWriteAsync(id);
            node.Disk.Faults = node.Disk.Faults with { CapacityBytes = node.Disk.UsedBytes + 1 };
            await Assert.ThrowsAsync<DiskFullException>(() => writer.AppendAsync(data));
            return pureWork.Pending;
        }, "an append to a full disk");
        sim.RunFor(SimHarness.Second);
        Assert.Equal(0, pendingAtFailure);
        Assert.Equal(1, pureWork.Completed);
        Assert.Empty(pureWork.Failures);
        Assert.DoesNotContain(node.Disk.AllFiles(), IsTmpFile);
    }

    [Fact]
    public void An_append_returns_only_after_its_segment_is_hashed()
    {
        // Kills in ChunkStoreWriter.cs: "await hashing" removed from the append's success path (open since the
        // ninth session's Storage run: its pure work always finished before the disk did). On a real node a large
        // segment's hash may still run on another core when the disk has written it; the append must not return
        // before it ends, or the next append (or the commit's GetHashAndReset) runs on the same hash at once.
        // Here the pure work ends ten disk latencies after it is handed over.
        var (sim, node) = SimHarness.OneIdleNode(89, FixedLatency());
        using var _ = sim;
        var pureWork = new DeferredPureWork(node.Runtime!.Clock, 10 * Latency);
        var store = new ChunkStore(node.Runtime! with { PureWork = pureWork });
        var (id, data) = MakeChunk(89, 2 * ChunkWriter.PureWorkBytesMin);
        var (pendingAfterAppends, outcome) = Run(sim, node, async _ =>
        {
            await using var writer = await store.BeginWriteAsync(id);
            var pending = 0;
            for (var at = 0; at < data.Length; at += ChunkWriter.PureWorkBytesMin)
            {
                await writer.AppendAsync(data.AsMemory(at, ChunkWriter.PureWorkBytesMin));
                pending += pureWork.Pending;
            }

            return (pending, await writer.CommitAsync());
        }, "a chunk appended in two large segments");
        Assert.Equal(0, pendingAfterAppends);
        Assert.Equal(ChunkWriteOutcome.Written, outcome);
        Assert.Equal(2, pureWork.Completed);
        Assert.Empty(pureWork.Failures);
        using var read = Run(sim, node, _ => store.ReadAsync(id), "read back");
        Assert.Equal(data, read.Data.ToArray());
    }

    [Fact]
    public void The_default_chunk_id_prints_as_empty()
    {
        // Kills in ChunkId.cs: "Hex ?? string.Empty" in ToString as "Hex" (null) or another string.
        Assert.Equal(string.Empty, default(ChunkId).ToString());
        var (id, _) = MakeChunk(87, 10);
        Assert.Equal(id, ChunkId.Parse(id).ToString());
    }

    [Fact]
    public void A_file_larger_than_any_chunk_is_corrupt_without_being_read_and_the_largest_chunk_reads_back()
    {
        // Kills in ChunkStore.cs: the oversized check removed (the 64 MiB + 1 file was read whole and failed on its
        // hash instead) or "> StoredSizeMax" as ">=" (a chunk of exactly the largest size read as corrupt), and its
        // report ("!asPlaintext -> asPlaintext": no event, no count).
        var (sim, node) = SimHarness.OneIdleNode(88);
        using var _ = sim;
        var store = new ChunkStore(node.Runtime!);
        var corrupt = RecordCorrupt(node);
        var (largest, data) = MakeChunk(88, ChunkStore.ChunkSizeBytesMax);
        Assert.Equal(ChunkWriteOutcome.Written, Run(sim, node, _ => store.WriteAsync(largest, data), "largest write"));
        using (var read = Run(sim, node, _ => store.ReadAsync(largest), "largest read"))
        {
            Assert.Equal(ChunkStatus.Ok, read.Status);
            Assert.Equal(ChunkStore.ChunkSizeBytesMax, read.Data.Length);
        }

        var oversized = MakeChunk(89, 10).Id;
        PlantUnsyncedCopy(sim, node, oversized, new byte[ChunkStore.ChunkSizeBytesMax + 1]);
        var before = node.Disk.BytesRead;
        Assert.Equal(ChunkStatus.Corrupt, Run(sim, node, _ => store.ReadAsync(oversized), "oversized read").Status);
        Assert.Equal(before, node.Disk.BytesRead);
        Assert.Equal(1, store.CorruptDetected);
        var only = Assert.Single(corrupt);
        Assert.Equal(oversized, only.ChunkId);
        Assert.Equal($"oversized file of {ChunkStore.ChunkSizeBytesMax + 1} bytes", only.Reason);
    }

    [Fact]
    public void A_file_deleted_between_the_stat_and_the_read_is_missing_not_corrupt()
    {
        // Kills in ChunkStore.cs: "catch (FileNotFoundException)"'s "(false, -1)" as "(false, 0)" or "(true, -1)"
        // and "filled < 0 ? Missing : Corrupt" flipped or forced (a chunk deleted under a read counted as corrupt).
        var (sim, node) = SimHarness.OneIdleNode(90);
        using var _ = sim;
        var (id, data) = MakeChunk(90, 6000);
        Run(sim, node, _ => new ChunkStore(node.Runtime!).WriteAsync(id, data), "write");
        var path = ChunkStore.PathOf(id);
        var store = new ChunkStore(node.Runtime! with
        {
            Disk = new AfterStatDisk(node.Disk, path, disk => disk.DeleteAsync(path)),
        });
        var corrupt = RecordCorrupt(node);
        Assert.Equal(ChunkStatus.Missing, Run(sim, node, _ => store.ReadAsync(id), "read").Status);
        Assert.Equal(0, store.CorruptDetected);
        Assert.Empty(corrupt);
    }

    [Fact]
    public void A_file_that_shrinks_between_the_stat_and_the_read_is_a_short_read_and_corrupt()
    {
        // Kills in ChunkStore.cs: "break" on a zero-byte read removed (the read looped on the end of the file until
        // the harness's bound), "filled == memory.Length" as "!=", and the short read's message. The file is
        // replaced by its first half between the stat and the read (another process truncating it).
        var (sim, node) = SimHarness.OneIdleNode(91);
        using var _ = sim;
        var (id, data) = MakeChunk(91, 6000);
        Run(sim, node, _ => new ChunkStore(node.Runtime!).WriteAsync(id, data), "write");
        var path = ChunkStore.PathOf(id);
        var store = new ChunkStore(node.Runtime! with
        {
            Disk = new AfterStatDisk(node.Disk, path, async disk =>
            {
                await using var file = await disk.CreateAsync(path);
                await file.AppendAsync(data.AsMemory(0, 2500));
            }),
        });
        var corrupt = RecordCorrupt(node);
        var read = sim.Await(node.Spawn(_ => store.ReadAsync(id)), "read of a shrinking file", SimHarness.Second);
        Assert.Equal(ChunkStatus.Corrupt, read.Status);
        Assert.Equal(1, store.CorruptDetected);
        Assert.Equal("short read of 2500 of 6000 bytes", Assert.Single(corrupt).Reason);
    }

    [Fact]
    public void A_file_emptied_between_the_stat_and_the_read_is_corrupt_not_missing()
    {
        // Kills in ChunkStore.cs: "filled < 0 ? Missing : Corrupt" as "filled <= 0" (a chunk file truncated to zero
        // bytes under a read was answered as missing, not reported corrupt, so no one repaired it). Only a file
        // deleted under the read (-1) is missing.
        var (sim, node) = SimHarness.OneIdleNode(93);
        using var _ = sim;
        var (id, data) = MakeChunk(93, 6000);
        Run(sim, node, _ => new ChunkStore(node.Runtime!).WriteAsync(id, data), "write");
        var path = ChunkStore.PathOf(id);
        var store = new ChunkStore(node.Runtime! with
        {
            Disk = new AfterStatDisk(node.Disk, path,
                async disk => await (await disk.CreateAsync(path)).DisposeAsync()),
        });
        var corrupt = RecordCorrupt(node);
        Assert.Equal(ChunkStatus.Corrupt, Run(sim, node, _ => store.ReadAsync(id), "read of an emptied file").Status);
        Assert.Equal("short read of 0 of 6000 bytes", Assert.Single(corrupt).Reason);
    }

    [Fact]
    public void Write_errors_fail_creates_appends_and_fsyncs_and_change_nothing()
    {
        // The simulated disk's write-error fault (DiskFaults.WriteErrorProbability, a scenario's disk.write_errors).
        var (sim, node) = SimHarness.OneIdleNode(92);
        using var _ = sim;
        var file = Run(sim, node, async runtime =>
        {
            await runtime.Disk.CreateDirectoryAsync("d");
            var file = await runtime.Disk.CreateAsync("d/f");
            await file.AppendAsync(new byte[] { 1, 2, 3 });
            return file;
        }, "create and append");
        node.Disk.Faults = node.Disk.Faults with { WriteErrorProbability = 1 };
        Assert.Throws<DiskIOException>(() => Run(sim, node, async _ =>
        {
            await file.AppendAsync(new byte[] { 4 });
            return true;
        }, "append"));
        Assert.Throws<DiskIOException>(() => Run(sim, node, async _ =>
        {
            await file.FsyncAsync();
            return true;
        }, "fsync"));
        Assert.Throws<DiskIOException>(() => Run(sim, node, runtime => runtime.Disk.CreateAsync("d/g"), "create"));
        Assert.Equal(new byte[] { 1, 2, 3 }, node.Disk.Peek("d/f"));
        Assert.False(node.Disk.Exists("d/g"));
        Assert.False(node.Disk.IsDurable("d/f"));
        Assert.Throws<ArgumentException>(() => (node.Disk.Faults with { WriteErrorProbability = 2 }).Validate());
    }

    private static DiskFaults FixedLatency() =>
        new() { LatencyMinMicroseconds = Latency, LatencyMaxMicroseconds = Latency };

    private static bool IsTmpFile(string path) =>
        path.StartsWith(ChunkStore.TmpDirectory + "/", StringComparison.Ordinal);

    /// <summary>Pure work that runs a fixed virtual delay after it is handed over, as a thread pool might.</summary>
    private sealed class DeferredPureWork(IClock clock, long delayMicroseconds) : IPureWork
    {
        public int Pending { get; private set; }

        public int Completed { get; private set; }

        public List<Exception> Failures { get; } = [];

        public Task<T> RunAsync<T>(Func<T> work)
        {
            var done = new TaskCompletionSource<T>();
            Pending++;
            clock.Schedule(delayMicroseconds, () =>
            {
                Pending--;
                Completed++;
                try
                {
                    done.SetResult(work());
                }
                catch (Exception e)
                {
                    Failures.Add(e);
                    done.SetException(e);
                }
            });
            return done.Task;
        }
    }

    /// <summary>The node's disk, with <paramref name="fault"/> run once right after the first stat of a path.</summary>
    private sealed class AfterStatDisk(IDisk inner, string path, Func<IDisk, Task> fault) : IDisk
    {
        private Func<IDisk, Task>? _fault = fault;

        public async Task<long?> GetLengthAsync(string at)
        {
            var length = await inner.GetLengthAsync(at);
            if (at == path && _fault is { } fault)
            {
                _fault = null;
                await fault(inner);
            }

            return length;
        }

        public Task<IWritableFile> CreateAsync(string at) => inner.CreateAsync(at);

        public Task<int> ReadAsync(string at, long offset, Memory<byte> buffer) => inner.ReadAsync(at, offset, buffer);

        public Task RenameAsync(string source, string target) => inner.RenameAsync(source, target);

        public Task DeleteAsync(string at) => inner.DeleteAsync(at);

        public Task CreateDirectoryAsync(string at) => inner.CreateDirectoryAsync(at);

        public Task FsyncDirectoryAsync(string at) => inner.FsyncDirectoryAsync(at);

        public Task<IReadOnlyList<DiskEntry>> ListAsync(string at) => inner.ListAsync(at);

        public Task<long> GetFreeBytesAsync() => inner.GetFreeBytesAsync();
    }
}
