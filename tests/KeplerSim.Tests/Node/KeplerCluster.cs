using KeplerSim.Core.Node;
using KeplerSim.Core.Runtime;
using KeplerSim.Sim.Kernel;
using KeplerSim.Sim.KeplerFs;
using KeplerSim.Tests.Sim;

namespace KeplerSim.Tests.Node;

/// <summary>
/// Test conveniences over <see cref="KeplerSimCluster"/> (the simulator's KeplerFS harness): synchronous
/// put/get that drive virtual time, and a cluster that owns its simulation.
/// </summary>
internal sealed class KeplerCluster : IDisposable
{
    public const int ChunkSize = 1024;

    private readonly KeplerSimCluster _inner;

    private KeplerCluster(KeplerSimCluster inner) => _inner = inner;

    public Simulation Sim => _inner.Sim;

    public IReadOnlyList<SimNode> Nodes => _inner.Nodes;

    public ClusterView View => _inner.View;

    public static KeplerCluster Create(int nodes, ulong seed, KeplerOptions? options = null,
        NetworkFaults? network = null, DiskFaults? disk = null, int? initialMembers = null, double buggify = 0)
    {
        var sim = new Simulation(new SimulationOptions
        {
            Seed = seed,
            Network = network ?? new NetworkFaults(),
            Disk = disk ?? new DiskFaults(),
            BuggifySiteProbability = buggify,
        });
        var cluster = new KeplerCluster(new KeplerSimCluster(sim, nodes,
            options ?? new KeplerOptions { ChunkSizeBytes = ChunkSize }, initialMembers));
        foreach (var node in cluster.Nodes.Where(n => n.State == SimNodeState.Running))
        {
            cluster.AwaitReady(node);
        }

        return cluster;
    }

    /// <summary>Starts (or restarts after a crash) a node and waits until it has recovered.</summary>
    public void Start(SimNode node)
    {
        node.Start();
        AwaitReady(node);
    }

    /// <summary>Starts a node that was not a member and tells every member about it (a join).</summary>
    public void Join(SimNode node)
    {
        _inner.Join(node);
        AwaitReady(node);
    }

    /// <summary>Crashes a node and removes it from every member's view (it was declared dead).</summary>
    public void Kill(SimNode node)
    {
        node.Crash();
        _inner.Remove(node);
    }

    public KeplerNode Kepler(SimNode node) => _inner.Kepler(node);

    public KeplerNode Kepler(int index) => _inner.Kepler(Nodes[index]);

    public Task<FileVersionInfo> PutAsync(int node, string path, byte[] data, Durability durability) =>
        _inner.PutAsync(Nodes[node], path, data, durability);

    public FileVersionInfo Put(int node, string path, byte[] data, Durability durability) =>
        Sim.Await(PutAsync(node, path, data, durability), $"put {path} on n{node + 1}");

    public byte[] Get(int node, string path, long offset = 0, long? length = null) =>
        Sim.Await(_inner.GetAsync(Nodes[node], path, offset, length), $"get {path} on n{node + 1}");

    public IReadOnlyList<string> DurableCopies(string chunkId) => _inner.DurableCopies(chunkId);

    public int DurableOwnerCopies(string chunkId) => _inner.DurableOwnerCopies(chunkId);

    public IReadOnlyList<string> Holders(string chunkId) => _inner.Holders(chunkId);

    public long TotalQueueDepth() => _inner.TotalQueueDepth();

    /// <summary>The chunk ids of the current version of a path, as recorded on a node.</summary>
    public IReadOnlyList<string> ChunksOf(int node, string path) =>
        Kepler(node).Meta.GetWinner(path)?.ChunkIds ?? throw new InvalidOperationException($"{path} unknown on n{node + 1}");

    /// <summary>Every distinct chunk referenced by the winners on node 0.</summary>
    public IReadOnlyList<string> AllChunks() =>
        Kepler(0).Meta.ListPaths("").SelectMany(p => ChunksOf(0, p)).Distinct().ToList();

    public static byte[] Bytes(int length, int seed)
    {
        var data = new byte[length];
        new DeterministicRandom((ulong)seed).NextBytes(data);
        return data;
    }

    public void Dispose() => Sim.Dispose();

    private void AwaitReady(SimNode node) =>
        Sim.Await(node.Spawn(_ => Kepler(node).Ready), $"{node.Name} to recover and start");
}
