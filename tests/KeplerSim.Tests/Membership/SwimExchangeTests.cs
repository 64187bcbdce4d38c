using KeplerSim.Core.Membership;
using KeplerSim.Core.Runtime;
using KeplerSim.Sim.Kernel;
using KeplerSim.Tests.Sim;

namespace KeplerSim.Tests.Membership;

/// <summary>
/// SWIM's exchanges beyond piggybacked updates, driven by crafted messages and checked on the wire: Lifeguard's
/// nacks, introductions to unknown probers, and push-pull merges. Written to kill the Stryker survivors of
/// SwimMember.Datagrams.cs, SwimMember.Probe.cs and SwimMember.PushPull.cs that only slow chaos scenarios reached
/// (docs/TESTING.md, "Membership survivors").
/// </summary>
[Trait("Category", "Fast")]
public sealed class SwimExchangeTests
{
    private const long Second = SimHarness.Second;

    [Fact]
    public void Relays_nack_a_dead_target_so_the_prober_does_not_blame_itself()
    {
        using var cluster = SwimCluster.Create(5, 31);
        cluster.RunUntilConverged(20 * Second);
        var prober = cluster.Swim(0);
        var x = cluster.Nodes[4];
        var nacksBefore = prober.Counters.Received(SwimTraffic.Nack);
        x.Crash();
        cluster.RunUntil(() => cluster.AllSee(x, MemberStatus.Dead), 60 * Second, "every survivor to declare n5 dead");

        // Every failed probe of n5 went through relays; each relay's ping timed out and it said so (a nack), so
        // no prober's health score moved: the fault was n5's, not theirs.
        Assert.True(prober.Counters.Received(SwimTraffic.Nack) > nacksBefore, "n1 received the relays' nacks");
        Assert.All(cluster.Running, n => Assert.Equal(0, cluster.Swim(n).HealthScore));
    }

    [Fact]
    public void Without_nacks_a_failed_probe_counts_against_the_prober()
    {
        using var cluster = SwimCluster.Create(5, 32);
        cluster.RunUntilConverged(20 * Second);
        var prober = cluster.Nodes[0];

        // n1 can send but hears nothing back: its probes fail and no relay's nack reaches it either.
        cluster.Sim.Network.Partition([.. cluster.Nodes.Skip(1)], [prober], oneWay: true);
        cluster.RunUntil(() => cluster.Swim(prober).Counters.ProbesFailed > 0, 10 * Second, "a failed probe at n1");
        Assert.True(cluster.Swim(prober).HealthScore > 0, "missing nacks raised n1's health score");
        cluster.Sim.Network.Heal();
    }

    [Fact]
    public void A_relay_nacks_only_when_asked_and_acks_when_the_target_answers()
    {
        using var cluster = SwimCluster.Create(3, 33);
        cluster.RunUntilConverged(20 * Second);
        var relay = cluster.Nodes[0];
        var asker = cluster.Nodes[1];
        var target = cluster.Nodes[2];
        var replies = CaptureMessages(cluster, relay, asker.GossipAddress);
        target.Crash();

        Send(cluster, relay, asker, new SwimPingRequest(901, target.Name, target.GossipAddress.Host,
            target.GossipAddress.Port, WantNack: true));
        Send(cluster, relay, asker, new SwimPingRequest(902, target.Name, target.GossipAddress.Host,
            target.GossipAddress.Port, WantNack: false));
        cluster.Sim.RunFor(2 * Second);
        Assert.Contains(replies, m => m is SwimNack { Sequence: 901 });
        Assert.DoesNotContain(replies, m => m is SwimNack { Sequence: 902 } or SwimAck { Sequence: 901 or 902 });

        // A live target's ack is relayed under the asker's sequence number.
        var live = cluster.Nodes[1];
        Send(cluster, relay, asker, new SwimPingRequest(903, live.Name, live.GossipAddress.Host,
            live.GossipAddress.Port, WantNack: true));
        cluster.Sim.RunFor(2 * Second);
        Assert.Contains(replies, m => m is SwimAck { Sequence: 903 });
        Assert.DoesNotContain(replies, m => m is SwimNack { Sequence: 903 });
    }

    [Fact]
    public void An_unknown_prober_gets_an_introduction_once_per_probe_interval_and_at_most_a_bounded_number()
    {
        using var cluster = SwimCluster.Create(2, 34);
        cluster.RunUntilConverged(20 * Second);
        var node = cluster.Nodes[0];
        var joins = new List<NetAddress>();
        cluster.Sim.Network.Tap = (from, to, payload) =>
        {
            if (from == node && SwimCodec.TryDecodeDatagram(payload, out string? _) is { Message: SwimJoinRequest })
            {
                joins.Add(to);
            }
        };
        var ghost = new NetAddress("ghost", 7946);

        // An unknown member pings n1: n1 answers and introduces itself, but only once per probe interval.
        Feed(cluster, node, ghost, new SwimPing(1, "n1", "ghost"));
        Feed(cluster, node, ghost, new SwimPing(2, "n1", "ghost"));
        Assert.Equal([ghost], joins);
        cluster.Sim.RunFor(cluster.Options.ProbeIntervalMicroseconds);
        Feed(cluster, node, ghost, new SwimPing(3, "n1", "ghost"));
        Assert.Equal([ghost, ghost], joins);

        // A known prober (n2) and a ping meant for another node get no introduction.
        Feed(cluster, node, cluster.Nodes[1].GossipAddress, new SwimPing(4, "n1", "n2"));
        Feed(cluster, node, new NetAddress("other", 7946), new SwimPing(5, "n7", "other"));
        Assert.Equal(2, joins.Count);

        // Many unknown probers at once: at most IntroductionsMax introductions until the interval passes.
        cluster.Sim.RunFor(cluster.Options.ProbeIntervalMicroseconds);
        joins.Clear();
        for (var i = 0; i < SwimMember.IntroductionsMax + 10; i++)
        {
            Feed(cluster, node, new NetAddress($"g{i}", 7946), new SwimPing(10 + i, "n1", $"g{i}"));
        }

        Assert.Equal(SwimMember.IntroductionsMax, joins.Count);
    }

    [Fact]
    public void A_push_pull_merge_suspects_the_dead_it_hears_of_and_takes_leaves_as_they_are()
    {
        using var cluster = SwimCluster.Create(4, 35);
        cluster.RunUntilConverged(20 * Second);
        var node = cluster.Nodes[0];
        var swim = cluster.Swim(node);
        var accused = cluster.Nodes[2];
        var leaver = cluster.Nodes[3];
        var accusedIncarnation = swim.Find(accused.Id)!.Incarnation;
        var leaverIncarnation = swim.Find(leaver.Id)!.Incarnation;
        leaver.Crash(); // It must not refute its (forged) leave before we look.

        var frame = new SwimPushPull(false, false, "n2",
        [
            new DeadUpdate(accused.Name, accusedIncarnation, "n2"),
            new DeadUpdate(leaver.Name, leaverIncarnation, leaver.Name),
        ]);
        var reply = cluster.Sim.Await(cluster.Nodes[1].Spawn(async runtime =>
        {
            using var connection = await runtime.Streams.ConnectAsync(node.TransferAddress);
            await connection.SendAsync(SwimCodec.EncodeFrame(frame));
            return await connection.ReceiveAsync();
        }), "n1's push-pull reply");

        // memberlist's mergeState: a peer's death verdict only makes us suspect (the member gets its chance to
        // refute); a leave is taken as it is.
        Assert.Equal(MemberStatus.Suspect, swim.Find(accused.Id)!.Status);
        Assert.Equal(MemberStatus.Left, swim.Find(leaver.Id)!.Status);

        // The reply is n1's full state after the merge, live members first, the left one as dead-from-itself.
        var state = Assert.IsType<SwimPushPull>(SwimCodec.TryDecodeFrame(reply!.Value, out _));
        Assert.True(state.IsReply);
        Assert.Equal("n1", state.Sender);
        var members = state.Members!;
        Assert.Equal(4, members.Length);
        Assert.IsType<DeadUpdate>(members[^1]);
        Assert.Equal(new DeadUpdate(leaver.Name, leaverIncarnation, leaver.Name), members[^1]);
        Assert.Contains(new SuspectUpdate(accused.Name, accusedIncarnation, "n1"), members);
        Assert.Contains(members, m => m is AliveUpdate { Node: "n1" });
    }

    [Fact]
    public void Every_probe_of_a_suspect_member_tells_it_so_with_the_ping()
    {
        // No relays: a relay's ping carries no suspicion, only the prober's own do.
        var options = new SwimOptions { SuspicionMultiplier = 8, IndirectChecks = 0 };
        using var cluster = SwimCluster.Create(3, 36, options);
        cluster.RunUntilConverged(20 * Second);
        var prober = cluster.Nodes[0];
        var swim = cluster.Swim(prober);
        var target = cluster.Nodes[2];
        var pings = new List<MemberUpdate[]>();
        cluster.Sim.Network.Tap = (from, to, payload) =>
        {
            if (from == prober && to == target.GossipAddress && swim.Find(target.Id)?.Status == MemberStatus.Suspect
                && SwimCodec.TryDecodeDatagram(payload, out string? _) is { Message: SwimPing } datagram)
            {
                pings.Add(datagram.Updates ?? []);
            }
        };

        // n3 hears nothing and says nothing: n1 suspects it and keeps probing it until the suspicion expires. Long
        // after the suspicion's own gossip ran out, each ping still carries it, so a target that is only slow can
        // refute at once. Kills: the "first" update's insertion removed from Send (Datagrams.cs:217).
        cluster.Sim.Network.Partition([target], [prober, cluster.Nodes[1]]);
        cluster.RunUntil(() => swim.Find(target.Id)?.Status == MemberStatus.Dead, 60 * Second, "n1 to declare n3 dead");
        Assert.True(pings.Count >= 2, $"n1 pinged the suspect n3 {pings.Count} times");
        Assert.All(pings, updates => Assert.Contains(updates,
            u => u is SuspectUpdate { Node: "n3", From: "n1" }));
        cluster.Sim.Network.Heal();
    }

    [Fact]
    public void A_malformed_datagram_is_counted_and_published_with_its_sender()
    {
        using var cluster = SwimCluster.Create(2, 37);
        cluster.RunUntilConverged(20 * Second);
        var node = cluster.Nodes[0];
        var events = new List<string>();
        cluster.Sim.Trace.Recorded += record =>
        {
            if (record.Kind == TraceKind.Protocol && record.Node == "n1"
                && record.Detail?.StartsWith("swim.malformed ", StringComparison.Ordinal) == true)
            {
                events.Add(record.Detail);
            }
        };
        var malformed = cluster.Swim(node).Counters.Malformed;

        // Kills: the malformed event's publish removed (Datagrams.cs:51): an operator sees who sends garbage.
        cluster.Sim.Await(node.Spawn(_ =>
        {
            cluster.Swim(node).HandleDatagram(new NetAddress("stranger", 7946), new byte[] { 1, 2, 3 });
            return Task.CompletedTask;
        }), "n1 to handle garbage");
        Assert.Equal(malformed + 1, cluster.Swim(node).Counters.Malformed);
        Assert.Contains("stranger", Assert.Single(events), StringComparison.Ordinal);
    }

    private static void Feed(SwimCluster cluster, SimNode node, NetAddress from, SwimMessage message)
    {
        var bytes = SwimCodec.AssembleDatagram(SwimCodec.EncodeMessage(message), []);
        cluster.Sim.Await(node.Spawn(_ =>
        {
            cluster.Swim(node).HandleDatagram(from, bytes);
            return Task.CompletedTask;
        }), $"{node.Name} to handle the crafted message");
    }

    /// <summary>Sends <paramref name="message"/> from <paramref name="from"/>'s runtime to <paramref name="to"/>.</summary>
    private static void Send(SwimCluster cluster, SimNode to, SimNode from, SwimMessage message)
    {
        var bytes = SwimCodec.AssembleDatagram(SwimCodec.EncodeMessage(message), []);
        cluster.Sim.Await(from.Spawn(runtime =>
        {
            runtime.Datagrams.Send(to.GossipAddress, bytes);
            return Task.CompletedTask;
        }), "the crafted datagram to be sent");
    }

    /// <summary>Every message <paramref name="node"/> sends to <paramref name="to"/> from now on.</summary>
    private static List<SwimMessage> CaptureMessages(SwimCluster cluster, SimNode node, NetAddress to)
    {
        var messages = new List<SwimMessage>();
        cluster.Sim.Network.Tap = (from, target, payload) =>
        {
            if (from == node && target == to
                && SwimCodec.TryDecodeDatagram(payload, out string? _) is { Message: { } message })
            {
                messages.Add(message);
            }
        };
        return messages;
    }
}
