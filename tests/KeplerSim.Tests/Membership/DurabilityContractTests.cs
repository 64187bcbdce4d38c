using KeplerSim.Core.Membership;
using KeplerSim.Core.Node;
using KeplerSim.Core.Runtime;
using KeplerSim.Sim.KeplerFs;
using KeplerSim.Sim.Kernel;
using KeplerSim.Tests.Sim;

namespace KeplerSim.Tests.Membership;

/// <summary>
/// The durability contract (docs/PROTOCOL.md): <c>all</c> and <c>quorum</c> count copies against the replication
/// factor over the KNOWN membership. A member declared dead still counts; only one that left (graceful leave or
/// an operator's remove) shrinks N. Regression: a real node cut off from its two peers (declared dead) answered
/// 200 to <c>all</c> and <c>quorum</c> with one copy, because N = min(RF, members) shrank with its view, while
/// the simulator refused the same write. Nodes here boot exactly as the real node does: SWIM through a seed.
/// </summary>
public sealed class DurabilityContractTests
{
    private const long Second = SimHarness.Second;
    private const int ChunkBytes = 1024;

    private static readonly KeplerOptions Options = new() { ChunkSizeBytes = ChunkBytes, ReplicationFactor = 3 };

    [Fact]
    public void An_isolated_node_refuses_all_and_quorum_and_accepts_fast()
    {
        using var sim = Cluster(seed: 71, nodes: 3);
        Isolate(sim, "n1");
        var n1 = sim.Nodes[0];

        var all = Assert.Throws<DurabilityNotMetException>(() => Put(sim, n1, "a", Durability.All));
        Assert.Contains("needs 3 copies", all.Message, StringComparison.Ordinal);
        Assert.Contains("not live: n2, n3", all.Message, StringComparison.Ordinal);
        Assert.Throws<DurabilityNotMetException>(() => Put(sim, n1, "q", Durability.Quorum));
        Assert.Throws<DurabilityNotMetException>(() =>
            sim.Await(n1.Spawn(_ => Kepler(n1).DeleteAsync("nothing-yet", Durability.All)), "delete on n1"));
        Put(sim, n1, "f", Durability.Fast);

        // Refused up front: nothing of the refused writes was stored; only the fast write's chunks are here.
        Assert.Equal(Kepler(n1).Meta.GetWinner("f")!.ChunkIds.Distinct().Count(), Kepler(n1).Meta.CountChunks());
        Assert.Equal(3, Kepler(n1).ReplicationTarget);

        sim.Network.Heal();
        Assert.True(sim.RunUntil(() => RingSize(sim, "n1") == 3, 60 * Second), "waiting for n1 to see n2 and n3 alive");
        Put(sim, n1, "a", Durability.All);
    }

    [Fact]
    public void A_restarted_isolated_node_still_counts_the_members_it_knew()
    {
        using var sim = Cluster(seed: 72, nodes: 3);
        var n1 = sim.Nodes[0];
        sim.Network.Partition([n1], [sim.Nodes[1], sim.Nodes[2]]);
        n1.Crash();
        n1.Start();
        sim.Await(n1.Spawn(_ => Kepler(n1).Ready), "n1 to recover");
        Assert.Equal(3, Kepler(n1).KnownMembers.Count);
        Assert.Throws<DurabilityNotMetException>(() => Put(sim, n1, "a", Durability.All));
        Put(sim, n1, "f", Durability.Fast);
    }

    [Fact]
    public void A_member_that_left_gracefully_shrinks_N_and_its_chunks_are_handed_off()
    {
        using var sim = Cluster(seed: 73, nodes: 3);
        var (n1, n3) = (sim.Nodes[0], sim.Nodes[2]);
        var data = Bytes(5 * ChunkBytes, 7);
        Put(sim, n1, "kept", Durability.All, data);

        var report = sim.Await(n3.Spawn(_ => Kepler(n3).LeaveAsync(30 * Second)), "n3 to leave and hand off");
        Assert.Equal(0, report.QueueLeft);
        Assert.True(sim.RunUntil(() => Status(sim, "n1", "n3") == MemberStatus.Left
            && Status(sim, "n2", "n3") == MemberStatus.Left, 30 * Second), "waiting for n1 and n2 to see n3 left");
        n3.Crash(); // the process exits after its leave

        Assert.Equal(2, Kepler(n1).ReplicationTarget);
        Put(sim, n1, "after", Durability.All);
        Assert.Equal(data, Get(sim, sim.Nodes[1], "kept"));
    }

    [Fact]
    public void A_dead_member_counts_until_an_operator_removes_it()
    {
        using var sim = Cluster(seed: 74, nodes: 3);
        var (n1, n3) = (sim.Nodes[0], sim.Nodes[2]);
        Assert.Throws<MemberRemovalRefusedException>(() => Kepler(n1).RemoveMember(n3.Id)); // alive: refused
        n3.Crash();
        Assert.True(sim.RunUntil(() => Status(sim, "n1", "n3") == MemberStatus.Dead
            && Status(sim, "n2", "n3") == MemberStatus.Dead, 60 * Second), "waiting for n3 to be declared dead");
        Assert.Throws<DurabilityNotMetException>(() => Put(sim, n1, "a", Durability.All));
        Put(sim, n1, "q", Durability.Quorum); // 2 of N = 3: still possible

        sim.Await(n1.Spawn(_ =>
        {
            return Task.FromResult(Kepler(n1).RemoveMember(n3.Id));
        }), "remove n3 on n1");
        Assert.True(sim.RunUntil(() => Status(sim, "n2", "n3") == MemberStatus.Left, 30 * Second),
            "waiting for the remove to reach n2");
        Assert.Equal(2, Kepler(n1).ReplicationTarget);
        Assert.Equal(2, Kepler(sim.Nodes[1]).ReplicationTarget);
        Put(sim, n1, "a", Durability.All);
    }

    /// <summary>Three (or more) nodes joined through n1 as their seed, each seeing every other alive.</summary>
    private static Simulation Cluster(ulong seed, int nodes)
    {
        var sim = new Simulation(new SimulationOptions { Seed = seed });
        for (var i = 1; i <= nodes; i++)
        {
            sim.AddNode($"n{i}", runtime => SimKeplerNode.Create(runtime, Options, MembershipMode.Swim, ["n1"]));
        }

        foreach (var node in sim.Nodes)
        {
            node.Start();
        }

        Assert.True(sim.RunUntil(() => sim.Nodes.All(n => RingSize(sim, n.Name) == nodes), 60 * Second),
            "waiting for every node to join through its seed and see every other alive");
        return sim;
    }

    private static void Isolate(Simulation sim, string name)
    {
        var node = sim.FindNode(name)!;
        sim.Network.Partition([node], sim.Nodes.Where(n => n != node).ToList());
        Assert.True(sim.RunUntil(() => RingSize(sim, name) == 1, 60 * Second),
            $"waiting for {name} to declare every peer dead");
    }

    private static KeplerNode Kepler(SimNode node) => (KeplerNode)node.Program!;

    private static int RingSize(Simulation sim, string name) =>
        sim.FindNode(name)!.Program is KeplerNode { Ready.IsCompletedSuccessfully: true } kepler
            ? kepler.Cluster.Members.Count
            : 0;

    private static MemberStatus? Status(Simulation sim, string observer, string member) =>
        Kepler(sim.FindNode(observer)!).Membership!.Find(new NodeId(member))?.Status;

    private static void Put(Simulation sim, SimNode node, string path, Durability durability, byte[]? data = null)
    {
        var bytes = data ?? Bytes(2 * ChunkBytes + 5, path.Length);
        sim.Await(node.Spawn(_ => Kepler(node).PutAsync(path, new MemoryStream(bytes, writable: false), durability)),
            $"put {path} ({durability}) on {node.Name}");
    }

    private static byte[] Get(Simulation sim, SimNode node, string path) => sim.Await(node.Spawn(async _ =>
    {
        var buffer = new MemoryStream();
        await Kepler(node).GetAsync(path, buffer);
        return buffer.ToArray();
    }), $"get {path} on {node.Name}");

    private static byte[] Bytes(int length, int seed)
    {
        var data = new byte[length];
        new DeterministicRandom((ulong)seed).NextBytes(data);
        return data;
    }
}
