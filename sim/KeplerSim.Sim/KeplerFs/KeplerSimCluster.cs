using KeplerSim.Core.Node;
using KeplerSim.Core.Runtime;
using KeplerSim.Core.Storage;
using KeplerSim.Sim.Kernel;

namespace KeplerSim.Sim.KeplerFs;

/// <summary>
/// A KeplerFS cluster in the simulator: nodes n1..nN running <see cref="KeplerNode"/> over one member view that
/// the harness maintains (until SWIM maintains it). Offers the file operations as tasks and ground-truth
/// queries on the simulated disks for checkers and tests.
/// </summary>
public sealed class KeplerSimCluster
{
    private readonly SortedSet<string> _members = new(StringComparer.Ordinal);

    /// <summary>Adds <paramref name="nodes"/> nodes to <paramref name="sim"/>; the first <paramref name="members"/> start.</summary>
    public KeplerSimCluster(Simulation sim, int nodes, KeplerOptions options, int? members = null)
        : this(sim, Enumerable.Range(1, nodes).Select(i => $"n{i}").ToList(), options, members)
    {
    }

    /// <summary>Adds the named nodes to <paramref name="sim"/>; the first <paramref name="members"/> start.</summary>
    public KeplerSimCluster(Simulation sim, IReadOnlyList<string> names, KeplerOptions options, int? members = null)
    {
        ArgumentNullException.ThrowIfNull(sim);
        ArgumentNullException.ThrowIfNull(names);
        Sim = sim;
        Options = options;
        foreach (var name in names)
        {
            sim.AddNode(name, runtime => new KeplerNode(runtime, options, View));
        }

        Nodes = names.Select(n => sim.FindNode(n)!).ToList();
        var initial = Nodes.Take(members ?? names.Count).ToList();

        // Every member must know the whole initial view when it starts: a node that started with a partial view
        // would place chunks on a different ring from the others (regression, chaos seed 1: surplus copies that
        // never went away because four nodes each believed they owned the chunk).
        foreach (var node in initial)
        {
            _members.Add(node.Name);
        }

        foreach (var node in initial)
        {
            node.Start();
        }
    }

    /// <summary>The simulation.</summary>
    public Simulation Sim { get; }

    /// <summary>The nodes' options.</summary>
    public KeplerOptions Options { get; }

    /// <summary>The cluster's nodes (members or not).</summary>
    public IReadOnlyList<SimNode> Nodes { get; }

    /// <summary>The member set every node currently places chunks over.</summary>
    public ClusterView View => ViewOf(_members);

    /// <summary>The KeplerFS program of a running node.</summary>
    public KeplerNode Kepler(SimNode node) =>
        node.Program as KeplerNode ?? throw new InvalidOperationException($"{node.Name} is down");

    /// <summary>Running members whose program has recovered.</summary>
    public IEnumerable<SimNode> Live => Nodes.Where(n =>
        n.State == SimNodeState.Running && n.Program is KeplerNode { Ready.IsCompletedSuccessfully: true });

    /// <summary>Starts a node that was not a member and tells every member (a join).</summary>
    public void Join(SimNode node)
    {
        _members.Add(node.Name);
        if (node.State == SimNodeState.Down)
        {
            node.Start();
        }

        Announce("join " + node.Name);
    }

    /// <summary>Removes a node from every member's view (declared dead, or left) without touching the node.</summary>
    public void Remove(SimNode node)
    {
        _members.Remove(node.Name);
        Announce("removal of " + node.Name);
    }

    /// <summary>Every running node adopts the current view (a restarted node builds it at start anyway).</summary>
    public void Announce(string reason)
    {
        var view = View;
        // Paused nodes too (their work waits for the resume), or they keep the old ring for good.
        foreach (var member in Nodes.Where(n => n.State != SimNodeState.Down && n.Program is KeplerNode))
        {
            var kepler = Kepler(member);
            _ = member.Spawn(_ =>
            {
                kepler.UpdateCluster(view, reason);
                return Task.CompletedTask;
            });
        }
    }

    /// <summary>Starts a put on a node; the task completes when the write is acknowledged (or fails).</summary>
    public Task<FileVersionInfo> PutAsync(SimNode node, string path, byte[] data, Durability durability) =>
        node.Spawn(async _ =>
        {
            var kepler = Kepler(node);
            await kepler.Ready;
            return await kepler.PutAsync(path, new MemoryStream(data, writable: false), durability);
        });

    /// <summary>Starts a read; the task yields the bytes.</summary>
    public Task<byte[]> GetAsync(SimNode node, string path, long offset = 0, long? length = null) =>
        node.Spawn(async _ =>
        {
            var kepler = Kepler(node);
            await kepler.Ready;
            var buffer = new MemoryStream();
            await kepler.GetAsync(path, buffer, offset, length);
            return buffer.ToArray();
        });

    /// <summary>Starts a delete.</summary>
    public Task<FileVersionInfo> DeleteAsync(SimNode node, string path, Durability durability) =>
        node.Spawn(async _ =>
        {
            var kepler = Kepler(node);
            await kepler.Ready;
            return await kepler.DeleteAsync(path, durability);
        });

    /// <summary>Starts a listing.</summary>
    public Task<IReadOnlyList<FileVersionInfo>> ListAsync(SimNode node, string prefix) =>
        node.Spawn(async _ =>
        {
            var kepler = Kepler(node);
            await kepler.Ready;
            return await kepler.ListAsync(prefix);
        });

    /// <summary>Nodes whose disk holds a durable, intact copy of the chunk (ground truth, not messages).</summary>
    public IReadOnlyList<string> DurableCopies(string chunkId)
    {
        var path = ChunkStore.PathOf(chunkId);
        return Nodes.Where(n => n.Disk.IsDurable(path) && n.Disk.Peek(path) is { } bytes
                                && ChunkStore.IdOf(bytes) == chunkId).Select(n => n.Name).ToList();
    }

    /// <summary>The chunk's owners under the current view.</summary>
    public IReadOnlyList<NodeId> OwnersOf(string chunkId) =>
        new Core.Ring.HashRing(View.Ids, new Core.Ring.RingOptions(Options.VirtualNodesPerNode, Options.ReplicationFactor))
            .OwnersOf(chunkId);

    /// <summary>Owners of the chunk that hold a durable intact copy.</summary>
    public int DurableOwnerCopies(string chunkId)
    {
        var owners = OwnersOf(chunkId).Select(o => o.Value).ToHashSet(StringComparer.Ordinal);
        return DurableCopies(chunkId).Count(owners.Contains);
    }

    /// <summary>Nodes holding a copy (intact or not) of the chunk on disk.</summary>
    public IReadOnlyList<string> Holders(string chunkId) =>
        Nodes.Where(n => n.Disk.Exists(ChunkStore.PathOf(chunkId))).Select(n => n.Name).ToList();

    /// <summary>Replication entries waiting on running members.</summary>
    public long TotalQueueDepth() => Live.Sum(n => Kepler(n).QueueDepth);

    /// <summary>Creates a member view of the named nodes with the simulator's addresses.</summary>
    public static ClusterView ViewOf(IEnumerable<string> names) => new(names.Select(n => new Member(new NodeId(n),
        new NetAddress(n, SimNode.GossipPort), new NetAddress(n, SimNode.TransferPort))));
}
