using System.Security.Cryptography;
using System.Text;
using KeplerSim.Core.Runtime;
using KeplerSim.Core.Storage;
using KeplerSim.Sim.Invariants;
using KeplerSim.Sim.Kernel;

namespace KeplerSim.Tests.Sim;

/// <summary>
/// The checkers' chunk scan is incremental (issue 14): a disk is walked again only after its generation moved and a
/// file is read and hashed again only after its content stamp moved. These pin that every way a file's bytes change
/// moves them, so the cache never hides a corruption.
/// </summary>
[Trait("Category", "Fast")]
public sealed class ClusterInspectorCacheTests
{
    private static readonly byte[] Payload = Encoding.ASCII.GetBytes("a chunk the checkers must verify");
    private static readonly string Id = Convert.ToHexStringLower(SHA256.HashData(Payload));

    private static (Simulation Sim, SimNode Node, string Path) NodeWithChunk(DiskFaults? faults = null)
    {
        var (sim, node) = SimHarness.OneIdleNode(3, faults);
        var path = ChunkStore.PathOf(Id);
        sim.Await(node.Spawn(async rt =>
        {
            await rt.Disk.CreateDirectoryAsync(path[..path.LastIndexOf('/')]);
            await using var file = await rt.Disk.CreateAsync(path);
            await file.AppendAsync(Payload);
            await file.FsyncAsync();
            // Every directory on the way, so the file's name survives a crash (HoldsDurableIntact asks).
            for (var dir = path[..path.LastIndexOf('/')]; ; dir = dir[..dir.LastIndexOf('/')])
            {
                await rt.Disk.FsyncDirectoryAsync(dir);
                if (!dir.Contains('/', StringComparison.Ordinal))
                {
                    break;
                }
            }

            await rt.Disk.FsyncDirectoryAsync("");
        }), "write the chunk");
        return (sim, node, path);
    }

    [Fact]
    public void An_unchanged_disk_is_not_scanned_again()
    {
        var (sim, node, _) = NodeWithChunk();
        using var _ = sim;
        var inspector = new ClusterInspector(sim);
        var first = inspector.ChunkFiles(node);
        Assert.True(Assert.Single(first).Matches, "the intact chunk matches its id");
        Assert.Same(first, inspector.ChunkFiles(node));
    }

    [Fact]
    public void A_corruption_after_a_scan_is_seen_without_invalidation()
    {
        var (sim, node, path) = NodeWithChunk();
        using var _ = sim;
        var inspector = new ClusterInspector(sim);
        Assert.True(Assert.Single(inspector.ChunkFiles(node)).Matches, "intact before");
        Assert.True(inspector.HoldsDurableIntact(node, Id), "intact before");
        Assert.True(node.Disk.Corrupt(path), "a bit flipped");
        Assert.False(Assert.Single(inspector.ChunkFiles(node)).Matches, "the flipped bit is seen by the scan");
        Assert.False(inspector.HoldsDurableIntact(node, Id), "and by the single-file check");
    }

    [Fact]
    public void An_append_after_a_scan_is_seen()
    {
        var (sim, node, path) = NodeWithChunk();
        using var _ = sim;
        var inspector = new ClusterInspector(sim);
        Assert.True(inspector.HoldsDurableIntact(node, Id), "intact before");
        var stamp = node.Disk.StampOf(path);
        sim.Await(node.Spawn(async rt =>
        {
            await using var file = await rt.Disk.CreateAsync(path);
            await file.AppendAsync(Payload[..5]);
            await file.FsyncAsync();
        }), "rewrite the file with other bytes");
        Assert.NotEqual(stamp, node.Disk.StampOf(path));
        Assert.False(Assert.Single(inspector.ChunkFiles(node)).Matches, "the rewritten file no longer matches");
    }

    [Fact]
    public void A_torn_tail_after_a_crash_is_seen()
    {
        var faults = new DiskFaults { CrashTornProbability = 1, CrashKeepProbability = 0,
            CrashKeepDirectoryProbability = 1 };
        var (sim, node, path) = NodeWithChunk(faults);
        using var _ = sim;
        sim.Await(node.Spawn(async rt =>
        {
            await using var file = await rt.Disk.CreateAsync(path);
            await file.AppendAsync(Payload[..4]);
            await file.FsyncAsync();
            await file.AppendAsync(Payload[4..]);
        }), "a file whose tail is not synced");
        var inspector = new ClusterInspector(sim);
        Assert.True(Assert.Single(inspector.ChunkFiles(node)).Matches, "whole before the crash");
        node.Crash();
        Assert.False(Assert.Single(inspector.ChunkFiles(node)).Matches, "torn by the crash");
    }

    /// <summary>
    /// Issue 14: the scan follows the disk's change log instead of walking every file at every check. Whatever mix
    /// of creates, appends, renames (also of a file still open for writing), deletes and corruptions happened, the
    /// incremental view equals a fresh walk, file by file and in the same order.
    /// </summary>
    [Fact]
    public void The_incremental_view_equals_a_fresh_walk_after_every_kind_of_change()
    {
        var (sim, node, path) = NodeWithChunk();
        using var _ = sim;
        var inspector = new ClusterInspector(sim);
        var other = Convert.ToHexStringLower(SHA256.HashData(Payload[..7]));
        var otherPath = ChunkStore.PathOf(other);
        var changes = new (string What, Func<NodeRuntime, Task> Change)[]
        {
            ("a second chunk written under tmp and renamed in", rt => WriteThenRenameAsync(rt, otherPath,
                Payload[..7])),
            ("the first rewritten with other bytes", rt => WriteAsync(rt, path, Payload[..3])),
            ("an append to a file renamed while open, looked at in between", rt => AppendAfterRenameAsync(rt, path,
                () => Assert.True(inspector.ChunkFiles(node).Single(f => f.Path == path).Matches, "matched then"))),
            ("the second deleted", rt => rt.Disk.DeleteAsync(otherPath)),
            ("the second written at the first's path", rt => WriteAsync(rt, path, Payload[..7])),
        };
        Assert.Equal(Fresh(sim, node), inspector.ChunkFiles(node));
        foreach (var (what, change) in changes)
        {
            sim.Await(node.Spawn(change), what);
            Assert.Equal(Fresh(sim, node), inspector.ChunkFiles(node));
        }

        Assert.True(node.Disk.Corrupt(path), "a bit flipped");
        Assert.Equal(Fresh(sim, node), inspector.ChunkFiles(node));
        node.Crash();
        Assert.Equal(Fresh(sim, node), inspector.ChunkFiles(node));
    }

    /// <summary>A replica once found durable and intact is not looked at again, until its file changes.</summary>
    [Fact]
    public void A_chunk_noted_durable_and_intact_is_forgotten_when_its_file_changes()
    {
        var (sim, node, path) = NodeWithChunk();
        using var _ = sim;
        var inspector = new ClusterInspector(sim);
        Assert.False(inspector.KnownDurableIntact(node, Id), "nothing noted yet");
        inspector.NoteDurableIntact(node, Id);
        Assert.True(inspector.KnownDurableIntact(node, Id), "noted");
        sim.Await(node.Spawn(rt => AppendAfterRenameAsync(rt, path)), "an append, unsynced");
        Assert.False(inspector.KnownDurableIntact(node, Id), "the changed file must be checked again");
    }

    /// <summary>When the change log no longer reaches back to a view (it overflowed), the disk is walked again.
    /// </summary>
    [Fact]
    public void A_view_older_than_the_change_log_is_rebuilt_by_a_walk()
    {
        var (sim, node, path) = NodeWithChunk();
        using var _ = sim;
        var inspector = new ClusterInspector(sim);
        var before = node.Disk.Generation;
        Assert.True(Assert.Single(inspector.ChunkFiles(node)).Matches, "intact before");
        Assert.NotNull(node.Disk.ChangedSince(before));
        sim.Await(node.Spawn(async rt =>
        {
            await rt.Disk.CreateDirectoryAsync(ChunkStore.TmpDirectory);
            await WriteAsync(rt, path, Payload[..2]);
            for (var i = 0; i < SimDisk.ChangeLogMax; i++)
            {
                await WriteAsync(rt, ChunkStore.TmpDirectory + "/x", Payload[..1]);
            }
        }), "more changes than the log keeps");
        Assert.Null(node.Disk.ChangedSince(before));
        Assert.False(Assert.Single(inspector.ChunkFiles(node)).Matches, "the rewrite before the overflow is seen");
    }

    private static IReadOnlyList<ChunkFile> Fresh(Simulation sim, SimNode node) =>
        new ClusterInspector(sim).ChunkFiles(node);

    private static async Task WriteAsync(NodeRuntime rt, string path, byte[] data)
    {
        await using var file = await rt.Disk.CreateAsync(path);
        await file.AppendAsync(data);
    }

    private static async Task WriteThenRenameAsync(NodeRuntime rt, string path, byte[] data)
    {
        await rt.Disk.CreateDirectoryAsync(ChunkStore.TmpDirectory);
        await rt.Disk.CreateDirectoryAsync(path[..path.LastIndexOf('/')]);
        await WriteAsync(rt, ChunkStore.TmpDirectory + "/t", data);
        await rt.Disk.RenameAsync(ChunkStore.TmpDirectory + "/t", path);
    }

    /// <summary>Opens a tmp file, renames it over <paramref name="path"/>, lets <paramref name="between"/> look, then
    /// appends through the open handle (the change log must name the file's new path).</summary>
    private static async Task AppendAfterRenameAsync(NodeRuntime rt, string path, Action? between = null)
    {
        await rt.Disk.CreateDirectoryAsync(ChunkStore.TmpDirectory);
        await using var file = await rt.Disk.CreateAsync(ChunkStore.TmpDirectory + "/open");
        await file.AppendAsync(Payload);
        await rt.Disk.RenameAsync(ChunkStore.TmpDirectory + "/open", path);
        between?.Invoke();
        await file.AppendAsync(Payload[..1]);
    }
}
