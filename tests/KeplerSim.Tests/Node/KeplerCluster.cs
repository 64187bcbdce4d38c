using KeplerSim.Core.Node;
using KeplerSim.Core.Runtime;
using KeplerSim.Core.Storage;
using KeplerSim.Sim.Kernel;
using KeplerSim.Tests.Sim;

namespace KeplerSim.Tests.Node;

/// <summary>A simulated KeplerFS cluster for tests: n nodes named n1..nN running <see cref="KeplerNode"/>.</summary>
internal sealed class KeplerCluster : IDisposable
{
    public const int ChunkSize = 1024;

    private readonly SortedSet<string> _members = new(StringComparer.Ordinal);

    private KeplerCluster(Simulation sim, KeplerOptions options)
    {
        Sim = sim;
        Options = options;
    }

    /// <summary>The member set every node currently places chunks over.</summary>
    public ClusterView View => ViewOf(_members);

    public Simulation Sim { get; }

    public KeplerOptions Options { get; }

    public IReadOnlyList<SimNode> Nodes => Sim.Nodes;

    public static KeplerCluster Create(int nodes, ulong seed, KeplerOptions? options = null,
        NetworkFaults? network = null, DiskFaults? disk = null, int? initialMembers = null, double buggify = 0)
    {
        options ??= new KeplerOptions { ChunkSizeBytes = ChunkSize };
        var sim = new Simulation(new SimulationOptions
        {
            Seed = seed,
            Network = network ?? new NetworkFaults(),
            Disk = disk ?? new DiskFaults(),
            BuggifySiteProbability = buggify,
        });
        var names = Enumerable.Range(1, nodes).Select(i => $"n{i}").ToList();
        var cluster = new KeplerCluster(sim, options);
        foreach (var name in names)
        {
            sim.AddNode(name, runtime => new KeplerNode(runtime, options, cluster.View));
        }

        foreach (var node in sim.Nodes.Take(initialMembers ?? nodes))
        {
            cluster._members.Add(node.Name);
        }

        foreach (var node in sim.Nodes.Take(initialMembers ?? nodes))
        {
            cluster.Start(node);
        }

        return cluster;
    }

    /// <summary>Starts a node that was not a member and tells every member about it (a join).</summary>
    public void Join(SimNode node)
    {
        _members.Add(node.Name);
        Start(node);
        Announce("join " + node.Name);
    }

    /// <summary>Crashes a node and removes it from every member's view (it was declared dead).</summary>
    public void Kill(SimNode node)
    {
        node.Crash();
        _members.Remove(node.Name);
        Announce("death of " + node.Name);
    }

    private void Announce(string reason)
    {
        foreach (var member in Nodes.Where(n => n.State == SimNodeState.Running && n.Program is KeplerNode))
        {
            var kepler = Kepler(member);
            var view = View;
            Sim.Await(member.Spawn(_ =>
            {
                kepler.UpdateCluster(view, reason);
                return Task.CompletedTask;
            }), $"{member.Name} to update its view");
        }
    }

    private static ClusterView ViewOf(IEnumerable<string> names) => new(names.Select(n => new Member(new NodeId(n),
        new NetAddress(n, SimNode.GossipPort), new NetAddress(n, SimNode.TransferPort))));

    public void Start(SimNode node)
    {
        node.Start();
        Sim.Await(node.Spawn(_ => Kepler(node).Ready), $"{node.Name} to recover and start");
    }

    public KeplerNode Kepler(SimNode node) => (KeplerNode)(node.Program ?? throw new InvalidOperationException($"{node.Name} is down"));

    public KeplerNode Kepler(int index) => Kepler(Nodes[index]);

    public Task<FileVersionInfo> PutAsync(int node, string path, byte[] data, Durability durability) =>
        Nodes[node].Spawn(_ => Kepler(node).PutAsync(path, new MemoryStream(data), durability));

    public FileVersionInfo Put(int node, string path, byte[] data, Durability durability) =>
        Sim.Await(PutAsync(node, path, data, durability), $"put {path} on n{node + 1}");

    public byte[] Get(int node, string path, long offset = 0, long? length = null)
    {
        var buffer = new MemoryStream();
        Sim.Await(Nodes[node].Spawn(_ => Kepler(node).GetAsync(path, buffer, offset, length)), $"get {path} on n{node + 1}");
        return buffer.ToArray();
    }

    /// <summary>Nodes whose disk holds a durable, intact copy of the chunk (ground truth, not messages).</summary>
    public IReadOnlyList<string> DurableCopies(string chunkId)
    {
        var path = ChunkStore.PathOf(chunkId);
        return Nodes.Where(n => n.Disk.IsDurable(path) && n.Disk.Peek(path) is { } bytes && ChunkStore.IdOf(bytes) == chunkId)
            .Select(n => n.Name).ToList();
    }

    /// <summary>Owners of the chunk that hold a durable intact copy.</summary>
    public int DurableOwnerCopies(string chunkId)
    {
        var owners = Kepler(0).Ring.OwnersOf(chunkId).Select(o => o.Value).ToHashSet();
        return DurableCopies(chunkId).Count(owners.Contains);
    }

    /// <summary>The chunk ids of the current version of a path, as recorded on a node.</summary>
    public IReadOnlyList<string> ChunksOf(int node, string path) =>
        Kepler(node).Meta.GetWinner(path)?.ChunkIds ?? throw new InvalidOperationException($"{path} unknown on n{node + 1}");

    /// <summary>Every distinct chunk referenced by the winners on node 0.</summary>
    public IReadOnlyList<string> AllChunks() => Kepler(0).Meta.ListPaths("").SelectMany(p => ChunksOf(0, p)).Distinct().ToList();

    /// <summary>Nodes holding a copy (intact or not) of the chunk on disk.</summary>
    public IReadOnlyList<string> Holders(string chunkId) =>
        Nodes.Where(n => n.Disk.Peek(ChunkStore.PathOf(chunkId)) is not null).Select(n => n.Name).ToList();

    public long TotalQueueDepth() => Nodes.Where(n => n.State == SimNodeState.Running).Sum(n => Kepler(n).QueueDepth);

    public static byte[] Bytes(int length, int seed)
    {
        var data = new byte[length];
        new DeterministicRandom((ulong)seed).NextBytes(data);
        return data;
    }

    public void Dispose() => Sim.Dispose();
}
