using KeplerSim.Core.Node;
using KeplerSim.Core.Runtime;
using KeplerSim.Core.Storage;
using KeplerSim.Sim.Kernel;

namespace KeplerSim.Sim.KeplerFs;

/// <summary>
/// A thin facade over simulated KeplerFS nodes n1..nN for tests: every node is built by
/// <see cref="SimKeplerNode.Create"/> exactly as a real node boots (SWIM through seeds, or a static PEERS list),
/// and the facade only starts nodes, issues file operations and observes ground truth. It never tells a node who
/// its members are: a crash is noticed by SWIM, a join is a node started with seeds.
/// </summary>
public sealed class KeplerSimCluster
{
    private readonly IReadOnlyList<string> _seeds;

    /// <summary>
    /// Adds <paramref name="names"/> to <paramref name="sim"/> and starts the first <paramref name="initial"/>
    /// (default: all). With SWIM every node's seeds are the initially started nodes (as an operator lists them in
    /// <c>SEEDS</c>); with a static list every node's PEERS are the initially started nodes.
    /// </summary>
    public KeplerSimCluster(Simulation sim, IReadOnlyList<string> names, KeplerOptions options,
        MembershipMode membership, int? initial = null)
    {
        ArgumentNullException.ThrowIfNull(sim);
        ArgumentNullException.ThrowIfNull(names);
        ArgumentNullException.ThrowIfNull(options);
        Sim = sim;
        Options = options;
        Membership = membership;
        _seeds = names.Take(initial ?? names.Count).ToList();
        foreach (var name in names)
        {
            sim.AddNode(name, runtime => SimKeplerNode.Create(runtime, options, membership, _seeds));
        }

        Nodes = names.Select(n => sim.FindNode(n)!).ToList();
        foreach (var node in Nodes.Take(_seeds.Count))
        {
            node.Start();
        }
    }

    /// <summary>The simulation.</summary>
    public Simulation Sim { get; }

    /// <summary>The nodes' options.</summary>
    public KeplerOptions Options { get; }

    /// <summary>How the nodes learn their members.</summary>
    public MembershipMode Membership { get; }

    /// <summary>The cluster's nodes (started or not).</summary>
    public IReadOnlyList<SimNode> Nodes { get; }

    /// <summary>The KeplerFS program of a running node.</summary>
    public KeplerNode Kepler(SimNode node) =>
        node.Program as KeplerNode ?? throw new InvalidOperationException($"{node.Name} is down");

    /// <summary>Running nodes whose program has recovered.</summary>
    public IEnumerable<SimNode> Live => Nodes.Where(n =>
        n.State == SimNodeState.Running && n.Program is KeplerNode { Ready.IsCompletedSuccessfully: true });

    /// <summary>
    /// Whether every live node in <paramref name="expected"/> is live and places chunks over exactly the
    /// <paramref name="expected"/> members (what the nodes themselves concluded, never told).
    /// </summary>
    public bool ViewsAre(IReadOnlyCollection<SimNode> expected)
    {
        ArgumentNullException.ThrowIfNull(expected);
        var ids = expected.Select(n => n.Id).Order().ToList();
        var live = Live.ToList();
        // Alive, not merely in the ring: a suspicion raised before a heal can still time out after it and declare
        // a member dead again (NamespaceModelTests seed 5y1cCEXBpHO3: an `all` write after the heal was refused).
        return expected.All(live.Contains) && expected.All(n => Kepler(n).Cluster.Ids.SequenceEqual(ids))
            && expected.All(n => Kepler(n).Membership is not { } swim
                || expected.All(m => swim.Find(m.Id)?.Status == Core.Membership.MemberStatus.Alive))
            // Joined, not merely told of everyone by gossip: until its join sync completes a node refuses writes
            // that need more than one copy (docs/PROTOCOL.md, "The durability contract").
            && expected.All(n => !Kepler(n).AwaitingJoin);
    }

    /// <summary>Why <see cref="ViewsAre"/> does not hold yet: each expected node's view (failure messages).</summary>
    public string DescribeViews(IReadOnlyCollection<SimNode> expected)
    {
        ArgumentNullException.ThrowIfNull(expected);
        return string.Join("; ", expected.Select(n => n.Program is KeplerNode kepler && n.State == SimNodeState.Running
            ? $"{n.Name} sees {string.Join(",", kepler.Cluster.Ids.Select(id => id.Value))}"
            : $"{n.Name} is {n.State}"));
    }

    /// <summary>Starts a put on a node; the task completes when the write is acknowledged (or fails).</summary>
    public Task<FileVersionInfo> PutAsync(SimNode node, string path, byte[] data, Durability durability) =>
        Run(node, kepler => kepler.PutAsync(path, new MemoryStream(data, writable: false), durability));

    /// <summary>Starts a read; the task yields the bytes.</summary>
    public Task<byte[]> GetAsync(SimNode node, string path, long offset = 0, long? length = null) =>
        Run(node, async kepler =>
        {
            var buffer = new MemoryStream();
            await kepler.GetAsync(path, buffer, offset, length);
            return buffer.ToArray();
        });

    /// <summary>Starts a delete.</summary>
    public Task<FileVersionInfo> DeleteAsync(SimNode node, string path, Durability durability) =>
        Run(node, kepler => kepler.DeleteAsync(path, durability));

    /// <summary>Nodes whose disk holds a durable, intact copy of the chunk (ground truth, not messages).</summary>
    public IReadOnlyList<string> DurableCopies(string chunkId)
    {
        var path = ChunkStore.PathOf(chunkId);
        return Nodes.Where(n => n.Disk.IsDurable(path) && n.Disk.Peek(path) is { } bytes
                                && ChunkStore.IdOfFile(bytes, Sim.Options.AtRestKey, chunkId) == chunkId)
            .Select(n => n.Name).ToList();
    }

    /// <summary>
    /// The chunk's owners on the ring of the first live node (the nodes' own ring, not one the harness keeps;
    /// callers that need every node to agree wait for <see cref="ViewsAre"/> first).
    /// </summary>
    public IReadOnlyList<NodeId> OwnersOf(string chunkId) =>
        Live.FirstOrDefault() is { } observer ? Kepler(observer).Ring.OwnersOf(chunkId) : [];

    /// <summary>Owners of the chunk that hold a durable intact copy.</summary>
    public int DurableOwnerCopies(string chunkId)
    {
        var owners = OwnersOf(chunkId).Select(o => o.Value).ToHashSet(StringComparer.Ordinal);
        return DurableCopies(chunkId).Count(owners.Contains);
    }

    /// <summary>Nodes holding a copy (intact or not) of the chunk on disk.</summary>
    public IReadOnlyList<string> Holders(string chunkId) =>
        Nodes.Where(n => n.Disk.Exists(ChunkStore.PathOf(chunkId))).Select(n => n.Name).ToList();

    /// <summary>Replication entries waiting on running nodes.</summary>
    public long TotalQueueDepth() => Live.Sum(n => Kepler(n).QueueDepth);

    private Task<T> Run<T>(SimNode node, Func<KeplerNode, Task<T>> operation) =>
        node.Spawn(async _ =>
        {
            var kepler = Kepler(node);
            await kepler.Ready;
            return await operation(kepler);
        });
}
