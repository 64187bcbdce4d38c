using KeplerSim.Core.Membership;
using KeplerSim.Core.Node;
using KeplerSim.Core.Runtime;
using KeplerSim.Sim.KeplerFs;
using KeplerSim.Sim.Kernel;
using KeplerSim.Tests.Sim;
using MessagePack;

namespace KeplerSim.Tests.Membership;

/// <summary>
/// The runtime replication factor (issue 18 point 4): an operator's change on one node spreads by SWIM, concurrent
/// changes converge by last-writer-wins on (version, origin), a restarted node keeps the value it held, a joining
/// node learns it, and the copies follow it (raised: re-replicated; lowered: trimmed once the owners hold theirs).
/// </summary>
[Trait("Category", "Fast")]
public sealed class ReplicationFactorTests
{
    private const long Second = SimHarness.Second;
    private const int ChunkBytes = 1024;

    private static readonly KeplerOptions Options = new()
    {
        ChunkSizeBytes = ChunkBytes, ReplicationFactor = 3, SurplusGraceMicroseconds = 1_000_000,
        RepairScanIntervalMicroseconds = 5_000_000,
    };

    [Fact]
    public void Concurrent_changes_on_two_nodes_converge_to_one_value()
    {
        using var sim = Cluster(seed: 81, nodes: 3);
        var (n1, n3) = (sim.Nodes[0], sim.Nodes[2]);

        // The same instant on two nodes: both changes get version 1, the origin's id breaks the tie (n3 > n1).
        var first = n1.Spawn(_ => Kepler(n1).SetReplicationFactorAsync(2));
        var second = n3.Spawn(_ => Kepler(n3).SetReplicationFactorAsync(1));
        var both = sim.Await(Task.WhenAll(first, second), "both changes");
        Assert.Equal([1L, 1L], both.Select(s => s.Version));
        Assert.True(sim.RunUntil(() => AllHold(sim, 1, 1, "n3"), 30 * Second),
            "waiting for every node to hold n3's change: " + Describe(sim));
        Assert.All(sim.Nodes, n => Assert.Equal(1, Kepler(n).ReplicationTarget));
    }

    [Fact]
    public void Changes_on_both_sides_of_a_partition_converge_after_the_heal_to_the_higher_version()
    {
        using var sim = Cluster(seed: 82, nodes: 3);
        var (n1, n2, n3) = (sim.Nodes[0], sim.Nodes[1], sim.Nodes[2]);
        sim.Network.Partition([n1], [n2, n3]);
        Set(sim, n1, 1);
        Set(sim, n1, 2); // version 2 on n1's side
        Set(sim, n3, 1); // version 1 on the other side (n3 > n1 would win a tie, but not a lower version)
        Assert.True(sim.RunUntil(() => Kepler(n2).ReplicationFactor == 1, 30 * Second), "n2 learns n3's change");
        Assert.Equal(2, Kepler(n1).ReplicationFactor);

        sim.Network.Heal();
        Assert.True(sim.RunUntil(() => AllHold(sim, 2, 2, "n1"), 60 * Second),
            "waiting for the higher version to win everywhere: " + Describe(sim));
    }

    [Fact]
    public void A_restarted_node_keeps_the_factor_and_a_joining_node_learns_it()
    {
        using var sim = Cluster(seed: 83, nodes: 3);
        var (n1, n2) = (sim.Nodes[0], sim.Nodes[1]);
        Set(sim, n1, 2);
        Assert.True(sim.RunUntil(() => AllHold(sim, 2, 1, "n1"), 30 * Second), "the change spreads: " + Describe(sim));

        // Cut off from everyone, so only its own metadata can tell it the factor after the restart.
        sim.Network.Partition([n2], sim.Nodes.Where(n => n != n2).ToList());
        n2.Crash();
        n2.Start();
        sim.Await(n2.Spawn(_ => Kepler(n2).Ready), "n2 to recover");
        Assert.Equal(2, Kepler(n2).ReplicationFactor);
        Assert.Equal(new ClusterSettings(2, 1, "n1"), Kepler(n2).ReplicationSetting);
        Assert.Equal(2, Kepler(n2).ReplicationTarget); // N over the 3 members it remembers
        sim.Network.Heal();

        var n4 = AddNode(sim, "n4");
        n4.Start();
        Assert.True(sim.RunUntil(() => Kepler(n4).Ready.IsCompletedSuccessfully
            && Kepler(n4).ReplicationFactor == 2, 30 * Second), "n4 learns the factor when it joins");
        Assert.Equal(new ClusterSettings(2, 1, "n1"), Kepler(n4).ReplicationSetting);
    }

    [Fact]
    public void Copies_follow_the_factor_down_and_up_again()
    {
        using var sim = Cluster(seed: 84, nodes: 3);
        var n1 = sim.Nodes[0];
        var ids = Put(sim, n1, "f", 6 * ChunkBytes + 3);
        Assert.True(sim.RunUntil(() => CopiesEverywhere(sim, ids, 3), 60 * Second), "3 copies of every chunk");

        Set(sim, sim.Nodes[1], 2);
        Assert.True(sim.RunUntil(() => CopiesEverywhere(sim, ids, 2), 120 * Second),
            "lowered to 2: the surplus copies are trimmed; copies: " + Copies(sim, ids));
        Set(sim, sim.Nodes[2], 3);
        Assert.True(sim.RunUntil(() => CopiesEverywhere(sim, ids, 3), 120 * Second),
            "raised to 3: re-replicated; copies: " + Copies(sim, ids));
    }

    /// <summary>
    /// A write keeps the N it began with (docs/PROTOCOL.md): the factor lowered 3 -> 2 in the middle of an 'all'
    /// write never lets it be acknowledged with fewer than 3 copies; its later chunks have only 2 owners, so it ends
    /// with 503 durability_not_met when its write timeout runs out, and a retry succeeds under the new N.
    /// </summary>
    [Fact]
    public void A_write_racing_a_lowered_factor_never_acknowledges_fewer_copies_than_it_began_with()
    {
        using var sim = Cluster(seed: 87, nodes: 3);
        var n1 = sim.Nodes[0];
        var data = new byte[40 * ChunkBytes];
        new DeterministicRandom(87).NextBytes(data);
        var put = n1.Spawn<DurabilityNotMetException?>(async _ =>
        {
            try
            {
                await Kepler(n1).PutAsync("race", new MemoryStream(data, writable: false), Durability.All);
                return null;
            }
            catch (DurabilityNotMetException e)
            {
                return e;
            }
        });
        Assert.True(sim.RunUntil(() => Kepler(n1).Meta.CountChunks() >= 5, 10 * Second), "the write is under way");
        Assert.False(put.IsCompleted, "the write is still running when the factor changes");
        Set(sim, n1, 2);

        var refused = sim.Await(put, "the racing write to end", 120 * Second);
        Assert.True(refused is not null, "acknowledged although chunks stored after the change have 2 owners");

        var ids = Put(sim, n1, "retry", 40 * ChunkBytes);
        Assert.All(ids, id => Assert.True(sim.Nodes.Count(n => Kepler(n).Meta.GetChunk(id) is not null) >= 2,
            $"{id[..12]} has N = 2 copies at the retry's acknowledgement"));
    }

    [Fact]
    public void Bad_values_are_refused_and_nothing_changes()
    {
        using var sim = Cluster(seed: 85, nodes: 2);
        var n1 = sim.Nodes[0];
        foreach (var bad in new[] { 0, -1, KeplerOptions.ReplicationFactorMax + 1 })
        {
            Assert.Throws<ArgumentOutOfRangeException>(() =>
                sim.Await(n1.Spawn(_ => Kepler(n1).SetReplicationFactorAsync(bad)), $"set {bad}"));
        }

        Assert.Null(Kepler(n1).ReplicationSetting);
        Assert.Equal(3, Kepler(n1).ReplicationFactor);
    }

    [Fact]
    public void Static_membership_refuses_a_runtime_change()
    {
        using var sim = new Simulation(new SimulationOptions { Seed = 86 });
        var n1 = sim.AddNode("n1", r => SimKeplerNode.Create(r, Options, MembershipMode.Static, ["n2"]));
        sim.AddNode("n2", r => SimKeplerNode.Create(r, Options, MembershipMode.Static, ["n1"]));
        sim.Nodes.ToList().ForEach(n => n.Start());
        sim.Await(n1.Spawn(_ => Kepler(n1).Ready), "n1 ready");
        Assert.Throws<ReplicationFactorRefusedException>(() =>
            sim.Await(n1.Spawn(_ => Kepler(n1).SetReplicationFactorAsync(1)), "set 1"));
    }

    [Fact]
    public void Settings_ride_as_an_optional_third_field_that_older_decoders_skip()
    {
        var update = SwimCodec.EncodeUpdate(new SuspectUpdate("n2", 4, "n1"));
        var plain = SwimCodec.AssembleDatagram(null, [update]);
        var settings = new ClusterSettings(2, 7, "n1");
        var withSettings = SwimCodec.AssembleDatagram(null, [update], SwimCodec.EncodeSettings(settings));

        // Without settings: the two-field datagram nodes sent before settings existed.
        Assert.Equal(0x92, plain[SwimCodec.Magic.Length]);
        Assert.Null(SwimCodec.TryDecodeDatagram(plain, out _)!.Settings);
        Assert.Equal(settings, SwimCodec.TryDecodeDatagram(withSettings, out _)!.Settings);
        var old = MessagePackSerializer.Deserialize<OldDatagram>(withSettings.AsMemory(SwimCodec.Magic.Length), Wire);
        Assert.Single(old.Updates!);

        var bad = SwimCodec.AssembleDatagram(null, [], SwimCodec.EncodeSettings(new ClusterSettings(0, 1, "n1")));
        Assert.Null(SwimCodec.TryDecodeDatagram(bad, out var error));
        Assert.Equal("bad replication factor", error);
        Assert.Null(ClusterSettings.Parse("9|1|n1"));

        // A push-pull without settings is the four-field frame older nodes send; with them, a fifth they skip.
        var members = new MemberUpdate[] { new SuspectUpdate("n2", 4, "n1") };
        var frame = SwimCodec.EncodeFrame(new SwimPushPull(false, true, "n1", members));
        var legacy = MessagePackSerializer.Serialize<OldFrame>(new OldPushPull(false, true, "n1", members), Wire);
        Assert.Equal(legacy, frame[SwimCodec.Magic.Length..]);
        var withFrame = SwimCodec.EncodeFrame(new SwimPushPull(false, true, "n1", members, settings));
        Assert.Equal(settings, ((SwimPushPull)SwimCodec.TryDecodeFrame(withFrame, out _)!).Settings);
        var oldFrame = MessagePackSerializer.Deserialize<OldFrame>(withFrame.AsMemory(SwimCodec.Magic.Length), Wire);
        Assert.Equal("n1", Assert.IsType<OldPushPull>(oldFrame).Sender);
        Assert.Equal(settings, ClusterSettings.Parse(settings.Format()));
    }

    private static readonly MessagePackSerializerOptions Wire = MessagePackSerializerOptions.Standard
        .WithSecurity(MessagePackSecurity.UntrustedData);

    /// <summary>The datagram as a node before runtime settings decoded it (two keys).</summary>
    [MessagePackObject]
    public sealed record OldDatagram([property: Key(0)] SwimMessage? Message,
        [property: Key(1)] MemberUpdate[]? Updates);

    /// <summary>The stream frame as a node before runtime settings knew it.</summary>
    [Union(0, typeof(OldPushPull))]
    public abstract record OldFrame;

    /// <summary>The push-pull frame as a node before runtime settings decoded it (four keys).</summary>
    [MessagePackObject]
    public sealed record OldPushPull([property: Key(0)] bool IsReply, [property: Key(1)] bool Join,
        [property: Key(2)] string Sender, [property: Key(3)] MemberUpdate[]? Members) : OldFrame;

    private static Simulation Cluster(ulong seed, int nodes)
    {
        var sim = new Simulation(new SimulationOptions { Seed = seed });
        for (var i = 1; i <= nodes; i++)
        {
            AddNode(sim, $"n{i}");
        }

        foreach (var node in sim.Nodes)
        {
            node.Start();
        }

        Assert.True(sim.RunUntil(() => sim.Nodes.All(n => RingSize(n) == nodes), 60 * Second),
            "waiting for every node to join through n1 and see every other alive");
        return sim;
    }

    private static SimNode AddNode(Simulation sim, string name) =>
        sim.AddNode(name, runtime => SimKeplerNode.Create(runtime, Options, MembershipMode.Swim, ["n1"]));

    private static KeplerNode Kepler(SimNode node) => (KeplerNode)node.Program!;

    private static int RingSize(SimNode node) =>
        node.Program is KeplerNode { Ready.IsCompletedSuccessfully: true } kepler ? kepler.Cluster.Members.Count : 0;

    private static void Set(Simulation sim, SimNode node, int factor) =>
        sim.Await(node.Spawn(_ => Kepler(node).SetReplicationFactorAsync(factor)), $"set {factor} on {node.Name}");

    private static bool AllHold(Simulation sim, int factor, long version, string origin) => sim.Nodes.All(n =>
        Kepler(n).ReplicationSetting == new ClusterSettings(factor, version, origin)
        && Kepler(n).ReplicationFactor == factor && Kepler(n).Ring.OwnerCount == Math.Min(factor, RingSize(n)));

    private static string Describe(Simulation sim) =>
        string.Join("; ", sim.Nodes.Select(n => $"{n.Name}: {Kepler(n).ReplicationSetting}"));

    private static List<string> Put(Simulation sim, SimNode node, string path, int length)
    {
        var data = new byte[length];
        new DeterministicRandom((ulong)length).NextBytes(data);
        sim.Await(node.Spawn(_ => Kepler(node).PutAsync(path, new MemoryStream(data, writable: false),
            Durability.All)), $"put {path}");
        return Kepler(node).Meta.GetWinner(path)!.ChunkIds.Distinct().ToList();
    }

    /// <summary>Every chunk recorded on exactly <paramref name="copies"/> nodes, and no replication left
    /// queued.</summary>
    private static bool CopiesEverywhere(Simulation sim, List<string> ids, int copies) =>
        ids.All(id => sim.Nodes.Count(n => Kepler(n).Meta.GetChunk(id) is not null) == copies)
        && sim.Nodes.All(n => Kepler(n).QueueDepth == 0);

    private static string Copies(Simulation sim, List<string> ids) => string.Join(",",
        ids.Select(id => sim.Nodes.Count(n => Kepler(n).Meta.GetChunk(id) is not null)));
}
