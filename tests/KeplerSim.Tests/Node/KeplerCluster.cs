using KeplerSim.Core.Node;
using KeplerSim.Core.Runtime;
using KeplerSim.Sim.Kernel;
using KeplerSim.Sim.KeplerFs;
using KeplerSim.Tests.Sim;

namespace KeplerSim.Tests.Node;

/// <summary>
/// Test conveniences over <see cref="KeplerSimCluster"/> (nodes built by <see cref="SimKeplerNode"/>, as a real
/// node boots): synchronous put/get that drive virtual time, and a cluster that owns its simulation. Membership is
/// SWIM unless a test says otherwise; the harness never tells a node who its members are, it only waits (bounded,
/// in virtual time) until the nodes themselves agree.
/// </summary>
internal sealed class KeplerCluster : IDisposable
{
    public const int ChunkSize = 1024;

    /// <summary>How long SWIM may take to agree on a join, a restart or a death (virtual time).</summary>
    public const long MembershipTimeoutMicroseconds = 60 * SimHarness.Second;

    private readonly KeplerSimCluster _inner;

    private KeplerCluster(KeplerSimCluster inner) => _inner = inner;

    public Simulation Sim => _inner.Sim;

    public IReadOnlyList<SimNode> Nodes => _inner.Nodes;

    public MembershipMode Membership => _inner.Membership;

    /// <summary>
    /// A cluster of <paramref name="nodes"/> nodes; the first <paramref name="initialMembers"/> (default all) start
    /// and, with SWIM, the call returns once each of them sees exactly the started nodes.
    /// </summary>
    public static KeplerCluster Create(int nodes, ulong seed, KeplerOptions? options = null,
        NetworkFaults? network = null, DiskFaults? disk = null, int? initialMembers = null, double buggify = 0,
        MembershipMode membership = MembershipMode.Swim)
    {
        var sim = new Simulation(new SimulationOptions
        {
            Seed = seed,
            Network = network ?? new NetworkFaults(),
            Disk = disk ?? new DiskFaults(),
            BuggifySiteProbability = buggify,
        });
        var names = Enumerable.Range(1, nodes).Select(i => $"n{i}").ToList();
        var cluster = new KeplerCluster(new KeplerSimCluster(sim, names,
            options ?? new KeplerOptions { ChunkSizeBytes = ChunkSize }, membership, initialMembers));
        foreach (var node in cluster.Running)
        {
            cluster.AwaitReady(node);
        }

        cluster.AwaitViews(cluster.Running, "the started nodes to find each other");
        return cluster;
    }

    /// <summary>Nodes that are running (paused ones included).</summary>
    public IReadOnlyList<SimNode> Running => Nodes.Where(n => n.State != SimNodeState.Down).ToList();

    /// <summary>
    /// Starts (or restarts after a crash) a node and waits until it has recovered and, with SWIM, until every
    /// running node sees the running nodes again (the restarted node rejoins through its seeds).
    /// </summary>
    public void Start(SimNode node)
    {
        node.Start();
        AwaitReady(node);
        AwaitViews(Running, $"{node.Name} to rejoin after its start");
    }

    /// <summary>Starts a node that was never started, with the cluster's seeds; waits until SWIM has it in every
    /// view (a join as an operator does it).</summary>
    public void Join(SimNode node)
    {
        RequireSwim("join");
        Start(node);
    }

    /// <summary>
    /// Crashes a node and waits until SWIM on every running survivor has declared it dead (its ring no longer has
    /// it). Nothing tells the survivors: they find out by probing.
    /// </summary>
    public void Kill(SimNode node)
    {
        RequireSwim("lose a member");
        node.Crash();
        AwaitViews(Running, $"SWIM on the survivors to declare {node.Name} dead");
    }

    /// <summary>
    /// A graceful leave: the node announces its leave through SWIM, then stops; waits until every running node
    /// has dropped it. Unlike a death, a leave shrinks the membership that durability counts against.
    /// </summary>
    public void Leave(SimNode node)
    {
        RequireSwim("leave");
        var swim = Kepler(node).Membership!;
        Sim.Await(node.Spawn(async _ =>
        {
            await swim.LeaveAsync();
            return true;
        }), $"{node.Name} to announce its leave");
        node.Crash();
        AwaitViews(Running, $"every node to drop {node.Name} after its leave");
    }

    /// <summary>Runs virtual time until each node in <paramref name="expected"/> sees exactly them (bounded).</summary>
    public void AwaitViews(IReadOnlyCollection<SimNode> expected, string what)
    {
        if (Membership == MembershipMode.Swim)
        {
            Assert.True(Sim.RunUntil(() => _inner.ViewsAre(expected), MembershipTimeoutMicroseconds, 50_000),
                $"waiting for {what}: {_inner.DescribeViews(expected)}");
        }
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

    private void RequireSwim(string what)
    {
        if (Membership != MembershipMode.Swim)
        {
            throw new InvalidOperationException(
                $"a static member list (PEERS) cannot {what}: only SWIM changes membership; use SWIM");
        }
    }

    /// <summary>Waits until <paramref name="node"/> has recovered and started (its <c>Ready</c>).</summary>
    public void AwaitReady(SimNode node) =>
        Sim.Await(node.Spawn(_ => Kepler(node).Ready), $"{node.Name} to recover and start");
}
