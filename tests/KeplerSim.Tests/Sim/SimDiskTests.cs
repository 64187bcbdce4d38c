using System.Text;
using KeplerSim.Core.Runtime;
using KeplerSim.Sim.Kernel;

namespace KeplerSim.Tests.Sim;

[Trait("Category", "Fast")]
public sealed class SimDiskTests
{
    private static readonly byte[] Payload = Encoding.ASCII.GetBytes("0123456789abcdefghijklmnopqrstuvwxyz");

    private static async Task WriteAsync(IDisk disk, string path, byte[] data, bool fsync)
    {
        await using var file = await disk.CreateAsync(path);
        await file.AppendAsync(data);
        if (fsync)
        {
            await file.FsyncAsync();
        }
    }

    [Fact]
    public void A_file_at_the_empty_path_is_refused_as_the_real_disk_refuses_it()
    {
        // The empty path is the disk's root: LocalDisk refuses it, and a key-check file created at "" passed every
        // simulated test (the Stryker survivor ChunkStore.AtRest.cs:81). Nothing is created.
        var (sim, node) = SimHarness.OneIdleNode(1);
        using var _ = sim;
        var error = sim.Await(node.Spawn(async rt =>
        {
            var refused = await Assert.ThrowsAsync<ArgumentException>(() => rt.Disk.CreateAsync(""));
            Assert.Empty(await rt.Disk.ListAsync(""));
            return refused.Message;
        }), "a create at the empty path");
        Assert.Contains("not a relative", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Unsynced_data_is_lost_on_crash_when_the_model_loses_it()
    {
        // Torn and keep probabilities at zero: the unsynced tail must vanish entirely.
        var faults = new DiskFaults { CrashTornProbability = 0, CrashKeepProbability = 0, CrashKeepDirectoryProbability = 1 };
        var (sim, node) = SimHarness.OneIdleNode(1, faults);
        using var _ = sim;
        sim.Await(node.Spawn(async rt =>
        {
            await WriteAsync(rt.Disk, "synced", Payload, fsync: true);
            await WriteAsync(rt.Disk, "unsynced", Payload, fsync: false);
            await rt.Disk.FsyncDirectoryAsync("");
        }), "two writes");
        node.Restart();
        Assert.Equal(Payload, node.Disk.Peek("synced"));
        Assert.Empty(node.Disk.Peek("unsynced")!);
    }

    [Fact]
    public void Unsynced_tail_is_torn_to_a_strict_prefix_on_crash()
    {
        var faults = new DiskFaults { CrashTornProbability = 1, CrashKeepProbability = 0, CrashKeepDirectoryProbability = 1 };
        var tornLengths = new SortedSet<int>();
        for (ulong seed = 1; seed <= 20; seed++)
        {
            var (sim, node) = SimHarness.OneIdleNode(seed, faults);
            using var _ = sim;
            sim.Await(node.Spawn(async rt =>
            {
                await using var file = await rt.Disk.CreateAsync("f");
                await file.AppendAsync(Payload[..10]);
                await file.FsyncAsync();
                await file.AppendAsync(Payload[10..]);
                await rt.Disk.FsyncDirectoryAsync("");
            }), "write");
            node.Crash();
            var survived = node.Disk.Peek("f")!;
            Assert.InRange(survived.Length, 10, Payload.Length - 1);
            Assert.Equal(Payload[..survived.Length], survived);
            tornLengths.Add(survived.Length);
        }

        Assert.True(tornLengths.Count > 3, $"torn lengths should vary with the seed, saw {tornLengths.Count}");
    }

    [Fact]
    public void Rename_without_directory_fsync_leaves_old_or_new_name_and_fsync_makes_it_durable()
    {
        var sawOld = false;
        var sawNew = false;
        for (ulong seed = 1; seed <= 30; seed++)
        {
            var (sim, node) = SimHarness.OneIdleNode(seed);
            using var _ = sim;
            sim.Await(node.Spawn(async rt =>
            {
                await WriteAsync(rt.Disk, "tmp", Payload, fsync: true);
                await rt.Disk.FsyncDirectoryAsync("");
                await rt.Disk.RenameAsync("tmp", "final");
            }), "rename");
            Assert.False(node.Disk.IsDurable("final"), "a rename is not durable before the directory fsync");
            node.Crash();
            var old = node.Disk.Peek("tmp");
            var renamed = node.Disk.Peek("final");
            Assert.True(old is null ^ renamed is null, "exactly one of the two names survives");
            Assert.Equal(Payload, old ?? renamed);
            sawOld |= old is not null;
            sawNew |= renamed is not null;
        }

        Assert.True(sawOld && sawNew, $"both outcomes should occur across seeds (old={sawOld}, new={sawNew})");
    }

    [Fact]
    public void Rename_then_directory_fsync_survives_every_crash()
    {
        for (ulong seed = 1; seed <= 20; seed++)
        {
            var (sim, node) = SimHarness.OneIdleNode(seed);
            using var _ = sim;
            sim.Await(node.Spawn(async rt =>
            {
                await rt.Disk.CreateDirectoryAsync("chunks/ab");
                await rt.Disk.FsyncDirectoryAsync("");
                await rt.Disk.FsyncDirectoryAsync("chunks");
                await WriteAsync(rt.Disk, "chunks/ab/tmp", Payload, fsync: true);
                await rt.Disk.RenameAsync("chunks/ab/tmp", "chunks/ab/final");
                await rt.Disk.FsyncDirectoryAsync("chunks/ab");
            }), "atomic write");
            Assert.True(node.Disk.IsDurable("chunks/ab/final"));
            node.Crash();
            Assert.Equal(Payload, node.Disk.Peek("chunks/ab/final"));
            Assert.Null(node.Disk.Peek("chunks/ab/tmp"));
        }
    }

    [Fact]
    public void Full_disk_fails_the_write_cleanly()
    {
        var (sim, node) = SimHarness.OneIdleNode(3, new DiskFaults { CapacityBytes = 50 });
        using var _ = sim;
        var error = sim.Await(node.Spawn(async rt =>
        {
            await using var file = await rt.Disk.CreateAsync("f");
            await file.AppendAsync(Payload);
            try
            {
                await file.AppendAsync(Payload);
                return null;
            }
            catch (DiskFullException e)
            {
                return e;
            }
        }), "writes until full");
        Assert.NotNull(error);
        Assert.Equal(Payload, node.Disk.Peek("f"));
        Assert.Equal(Payload.Length, node.Disk.UsedBytes);
    }

    [Fact]
    public void Read_errors_and_corruption_are_injected()
    {
        var (sim, node) = SimHarness.OneIdleNode(4, new DiskFaults { ReadErrorProbability = 1 });
        using var _ = sim;
        sim.Await(node.Spawn(rt => WriteAsync(rt.Disk, "f", Payload, fsync: true)), "write");
        var read = node.Spawn(rt => rt.Disk.ReadAsync("f", 0, new byte[64]));
        Assert.Throws<DiskIOException>(() => sim.Await(read, "read"));
        Assert.True(node.Disk.Corrupt("f"));
        var corrupted = node.Disk.Peek("f")!;
        var flipped = corrupted.Zip(Payload).Sum(p => System.Numerics.BitOperations.PopCount((uint)(p.First ^ p.Second)));
        Assert.Equal(1, flipped);
    }

    [Fact]
    public void Operations_of_a_crashed_incarnation_never_complete()
    {
        var (sim, node) = SimHarness.OneIdleNode(5, new DiskFaults { LatencyMinMicroseconds = 1000, LatencyMaxMicroseconds = 1000 });
        using var _ = sim;
        var write = node.Spawn(rt => WriteAsync(rt.Disk, "f", Payload, fsync: true));
        sim.RunFor(500);
        node.Crash();
        sim.RunFor(SimHarness.Second);
        Assert.False(write.IsCompleted, "the crashed incarnation's continuation must never run");
        Assert.Null(node.Disk.Peek("f"));
    }
    [Fact]
    public void Cross_directory_rename_leaves_exactly_one_name_after_a_crash()
    {
        // Regression (found by the chunk store's review): directories reverted independently on a crash, so a
        // rename from a/ to b/ with only b/ fsync'd left the file under both names and double-counted its bytes.
        var faults = new DiskFaults { CrashKeepDirectoryProbability = 0 };
        for (ulong seed = 1; seed <= 10; seed++)
        {
            var (sim, node) = SimHarness.OneIdleNode(seed, faults);
            using var _ = sim;
            sim.Await(node.Spawn(async rt =>
            {
                await rt.Disk.CreateDirectoryAsync("a");
                await rt.Disk.CreateDirectoryAsync("b");
                await rt.Disk.FsyncDirectoryAsync("");
                await WriteAsync(rt.Disk, "a/f", Payload, fsync: true);
                await rt.Disk.FsyncDirectoryAsync("a");
                await rt.Disk.RenameAsync("a/f", "b/f");
                await rt.Disk.FsyncDirectoryAsync("b");
            }), "cross-directory rename");
            node.Crash();
            Assert.Equal(["b/f"], node.Disk.AllFiles());
            Assert.Equal(Payload.Length, node.Disk.UsedBytes);
        }
    }
}
