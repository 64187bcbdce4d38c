using System.Security.Cryptography;
using System.Text;
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
}
