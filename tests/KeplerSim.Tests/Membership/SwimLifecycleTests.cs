using KeplerSim.Core;
using KeplerSim.Core.Membership;
using KeplerSim.Core.Runtime;
using KeplerSim.Sim.Kernel;
using KeplerSim.Tests.Sim;

namespace KeplerSim.Tests.Membership;

/// <summary>
/// A member's life at its edges: what a stopped member still does (nothing), a leave before start or after stop,
/// a member alone when its first probe round comes, Lifeguard's health score after a failed probe with and without
/// relays, and stream exchanges with a peer that accepts a connection but never answers. Written to kill the open
/// Stryker survivors of SwimMember.{cs,Datagrams.cs,Probe.cs,Gossip.cs,Streams.cs} (docs/TESTING.md, "Membership
/// survivors").
/// </summary>
[Trait("Category", "Fast")]
public sealed class SwimLifecycleTests
{
    private const long Second = SimHarness.Second;
    private const long Millisecond = Second / 1000;

    [Fact]
    public void A_stopped_member_sends_nothing_answers_nothing_and_holds_no_gossip()
    {
        using var cluster = SwimCluster.Create(4, 41);
        cluster.RunUntilConverged(20 * Second);
        var n1 = cluster.Nodes[0];
        var n2 = cluster.Nodes[1];
        var unheard = cluster.Nodes[3];
        var sent = new List<(long At, SimNode From, NetAddress To, SwimDatagram Datagram)>();
        cluster.Sim.Network.Tap = (from, to, payload) =>
        {
            if (SwimCodec.TryDecodeDatagram(payload, out string? _) is { } datagram)
            {
                sent.Add((cluster.Sim.Now, from, to, datagram));
            }
        };

        // n1 is stopped in the middle of a probe whose target does not answer (its indirect probe still to come),
        // with gossip pending; n2 between two probes (its next probe round scheduled). Only n1 fails to hear n4, so
        // the others' probes of n4 succeed and every ping n1 sends n4 is its own probe, never a relayed one.
        cluster.Sim.Network.Partition([unheard], [n1], oneWay: true);
        cluster.RunUntil(() => sent.Any(s => s.From == n1 && s.To == unheard.GossipAddress
            && s.Datagram.Message is SwimPing), 10 * Second, "n1 to probe n4", Millisecond);
        Feed(cluster, n1, n2.GossipAddress, null,
            new AliveUpdate("n3", cluster.Swim(n1).Find(cluster.Nodes[2].Id)!.Incarnation + 1,
                "n3", SimNode.GossipPort, "n3", SimNode.TransferPort, null));
        Assert.True(cluster.Swim(n1).PendingUpdates > 0, "n1 has gossip pending when it stops");
        Stop(cluster, n1);
        var succeeded = cluster.Swim(n2).Counters.ProbesSucceeded;
        cluster.RunUntil(() => cluster.Swim(n2).Counters.ProbesSucceeded > succeeded, 10 * Second,
            "a probe of n2's to succeed", Millisecond);
        Stop(cluster, n2);

        // Kills: Stop() no longer emptying the broadcast queue (SwimMember.cs, BroadcastQueue.Clear).
        Assert.Equal(0, cluster.Swim(n1).PendingUpdates);
        Assert.Equal(0, cluster.Swim(n2).PendingUpdates);

        // Kills: the "stopped" return removed from HandleDatagram (a ping answered), ProbeRound (n2 probes on) and
        // ProbeIndirectly (n1's ping-reqs for the unanswered probe go out after the stop).
        var stoppedAt = cluster.Sim.Now;
        Feed(cluster, n1, n2.GossipAddress, new SwimPing(2, "n1", "n2"));
        cluster.Sim.RunFor(5 * Second);
        Assert.DoesNotContain(sent, s => s.At >= stoppedAt && (s.From == n1 || s.From == n2));

        // Kills: the same return removed from HandleStreamAsync (Streams.cs:17): a stopped member would merge a
        // push-pull and answer it. The stream is closed unanswered.
        var pushPull = new SwimPushPull(false, false, "n3", [new AliveUpdate("n3", 0, "n3", SimNode.GossipPort, "n3",
            SimNode.TransferPort, null)]);
        var reply = cluster.Sim.Await(cluster.Nodes[2].Spawn(async runtime =>
        {
            using var connection = await runtime.Streams.ConnectAsync(n1.TransferAddress);
            await connection.SendAsync(SwimCodec.EncodeFrame(pushPull));
            return await connection.ReceiveAsync();
        }), "the push-pull to the stopped n1 to end");
        Assert.Null(reply);
    }

    [Fact]
    public void A_leave_before_start_or_after_stop_changes_nothing()
    {
        using var cluster = SwimCluster.Create(3, 42);
        cluster.RunUntilConverged(20 * Second);

        // Kills: LeaveAsync's "!_started || _stopped" weakened to "!_started && _stopped": a member not yet
        // started would mark itself left and stop for good; a stopped one would mark itself left.
        var unstarted = cluster.Sim.Await(cluster.Nodes[2].Spawn(async runtime =>
        {
            var member = new SwimMember(runtime);
            await member.LeaveAsync();
            return member;
        }), "a leave before start");
        Assert.Equal(MemberStatus.Alive, unstarted.Self.Status);
        Assert.False(unstarted.IsStopped);

        var n1 = cluster.Nodes[0];
        Stop(cluster, n1);
        cluster.Sim.Await(n1.Spawn(_ => cluster.Swim(n1).LeaveAsync()), "a leave after stop");
        Assert.Equal(MemberStatus.Alive, cluster.Swim(n1).Self.Status);
        Assert.Equal(0, cluster.Swim(n1).PendingUpdates);
    }

    [Fact]
    public void A_member_alone_at_its_first_probe_rounds_probes_the_members_that_join_later()
    {
        using var cluster = SwimCluster.Create(2, 43);
        var n1 = cluster.Nodes[0];
        var n2 = cluster.Nodes[1];
        var pingsToN2 = new List<long>();
        cluster.Sim.Network.Tap = (from, to, payload) =>
        {
            if (from == n1 && to == n2.GossipAddress
                && SwimCodec.TryDecodeDatagram(payload, out string? _) is { Message: SwimPing })
            {
                pingsToN2.Add(cluster.Sim.Now);
            }
        };

        // n2 cannot reach its seed n1 for a few probe intervals: n1's probe rounds find nobody to probe.
        cluster.Sim.Network.Partition([n1], [n2]);
        cluster.Sim.RunFor(3 * cluster.Options.ProbeIntervalMicroseconds);
        Assert.Single(cluster.Swim(n1).Members);
        cluster.Sim.Network.Heal();
        cluster.RunUntilConverged(10 * Second);

        // Kills: the empty round not rescheduling itself (n1 would never probe again).
        var known = cluster.Sim.Now;
        cluster.RunUntil(() => pingsToN2.Any(t => t >= known), 3 * cluster.Options.ProbeIntervalMicroseconds,
            "n1 to probe n2 once it knows it");
    }

    [Fact]
    public void A_failed_probe_raises_the_health_score_by_one_without_relays_and_not_at_all_when_every_relay_nacked()
    {
        // Kills: Lifeguard's "ExpectedNacks > 0 ? missed nacks : 1" as always the first (a prober with no relay
        // to ask would never blame itself) ...
        using (var pair = SwimCluster.Create(2, 44))
        {
            pair.RunUntilConverged(20 * Second);
            var prober = pair.Swim(0);
            Assert.Equal(0, prober.HealthScore);
            pair.Nodes[1].Crash();
            pair.RunUntil(() => prober.Counters.ProbesFailed > 0, 10 * Second, "n1's probe of n2 to fail",
                Millisecond);
            Assert.Equal(1, prober.HealthScore);
        }

        // ... or as always 1 (every relay said the target was down: the prober is not to blame).
        using var cluster = SwimCluster.Create(4, 45);
        cluster.RunUntilConverged(20 * Second);
        var swim = cluster.Swim(0);
        Assert.Equal(0, swim.HealthScore);
        var nacks = swim.Counters.Received(SwimTraffic.Nack);
        cluster.Nodes[3].Crash();
        cluster.RunUntil(() => swim.Counters.ProbesFailed > 0, 10 * Second, "n1's probe of n4 to fail", Millisecond);
        Assert.True(swim.Counters.Received(SwimTraffic.Nack) >= nacks + 2, "both relays nacked");
        Assert.Equal(0, swim.HealthScore);
    }

    [Fact]
    public void A_peer_that_accepts_streams_but_never_answers_is_given_up_in_time()
    {
        var options = new SwimOptions { PushPullIntervalMicroseconds = 2 * Second };
        using var cluster = SwimCluster.Create(2, 46, options);
        cluster.RunUntilConverged(20 * Second);
        var mute = cluster.Sim.AddNode("mute", runtime => new MuteProgram(runtime));
        mute.Start();
        var n1 = cluster.Nodes[0];
        var swim = cluster.Swim(n1);

        // Every stream n1 opens to the mute node, by its first frame: push-pulls and fallback probes.
        var opened = new SortedDictionary<long, long>();
        var streams = new SortedDictionary<long, (long Opened, SwimFrame? First)>();
        var closed = new SortedDictionary<long, long>();
        cluster.Sim.Network.StreamTap = (id, from, frame) =>
        {
            if (from == n1 && opened.TryGetValue(id, out var at) && !streams.ContainsKey(id))
            {
                streams[id] = (at, SwimCodec.TryDecodeFrame(frame, out _));
            }
        };
        cluster.Sim.Trace.Recorded += record =>
        {
            if (record.Node == "mute" && record.Detail == "n1")
            {
                if (record.Kind == TraceKind.StreamOpened)
                {
                    opened[record.A] = record.TimeMicroseconds;
                }
                else if (record.Kind == TraceKind.StreamClosed)
                {
                    closed.TryAdd(record.A, record.TimeMicroseconds);
                }
            }
        };
        Feed(cluster, n1, cluster.Nodes[1].GossipAddress, null,
            new AliveUpdate("mute", 0, "mute", SimNode.GossipPort, "mute", SimNode.TransferPort, null));
        cluster.Sim.RunFor(30 * Second);

        // A push-pull the peer never answers fails after the stream timeout. Kills: WithTimeoutAsync's throw
        // removed (the exchange would wait for the reply for good, counting nothing).
        var pushPulls = streams.Where(s => s.Value.First is SwimPushPull).ToList();
        Assert.NotEmpty(pushPulls);
        var due = pushPulls.Count(s => s.Value.Opened + options.StreamTimeoutMicroseconds + Second < cluster.Sim.Now);
        Assert.True(due > 0, "a push-pull to the mute node is older than the stream timeout");
        Assert.True(swim.Counters.PushPullsFailed >= due,
            $"{due} push-pulls to the mute node timed out, {swim.Counters.PushPullsFailed} counted failed");

        // A fallback stream probe waits for its ack only until its probe ends: its stream is closed by then (at
        // most the probe interval stretched by the health score). Kills: the ack's timeout "end - Now" as
        // "end + Now".
        var pings = streams.Where(s => s.Value.First is SwimStreamPing).ToList();
        Assert.NotEmpty(pings);
        var longest = options.ProbeIntervalMicroseconds * options.AwarenessMaxMultiplier + Second;
        Assert.All(pings.Where(p => p.Value.Opened + longest < cluster.Sim.Now), p =>
            Assert.True(closed.TryGetValue(p.Key, out var at) && at - p.Value.Opened <= longest,
                $"the stream probe opened at {p.Value.Opened} was not closed by the end of its probe"));
    }

    [Fact]
    public void Restored_settings_are_held_only_when_newer_and_raise_no_change()
    {
        using var cluster = SwimCluster.Create(1, 47);
        cluster.Sim.RunFor(Second);
        var changes = 0;
        var member = cluster.Sim.Await(cluster.Nodes[0].Spawn(runtime =>
        {
            var created = new SwimMember(runtime);
            created.SettingsChanged += _ => changes++;
            return Task.FromResult(created);
        }), "a member");
        var newer = new ClusterSettings(2, 5, "n3");

        // Kills: RestoreSettings' null check, its "Supersedes" negated, and its Hold removed (SwimMember.Settings.cs
        // 24-27): a restarted node would come back with the factor it held forgotten.
        Assert.Throws<ArgumentNullException>(() => member.RestoreSettings(null!));
        member.RestoreSettings(newer);
        Assert.Equal(newer, member.Settings);
        member.RestoreSettings(new ClusterSettings(3, 4, "n9"));
        Assert.Equal(newer, member.Settings);
        Assert.Equal(0, changes);
    }

    [Fact]
    public void Only_a_dead_member_can_be_forced_out_and_oversized_metadata_is_refused()
    {
        using var cluster = SwimCluster.Create(3, 48);
        cluster.RunUntilConverged(20 * Second);
        var swim = cluster.Swim(0);

        // Kills: ForceLeave's refusal returning true (SwimMember.Gossip.cs:117): the operator's remove of a live
        // member, of itself or of a stranger would report success and change nothing.
        Assert.False(swim.ForceLeave(cluster.Nodes[1].Id));
        Assert.False(swim.ForceLeave(swim.Id));
        Assert.False(swim.ForceLeave(new NodeId("n9")));
        Assert.Equal(MemberStatus.Alive, swim.Find(cluster.Nodes[1].Id)!.Status);

        // Kills: the constructor's metadata check removed (SwimMember.cs:55), and (twelfth session) its
        // "metadata.Length > MetadataBytesMax" as ">=" (54: the largest metadata allowed was refused).
        var (largest, refused) = cluster.Sim.Await(cluster.Nodes[2].Spawn(runtime => Task.FromResult((
            Record.Exception(() => new SwimMember(runtime, null, new byte[SwimCodec.MetadataBytesMax])),
            Record.Exception(() => new SwimMember(runtime, null, new byte[SwimCodec.MetadataBytesMax + 1]))))),
            "members with the largest and with oversized metadata");
        Assert.Null(largest);
        Assert.IsType<ArgumentException>(refused);

        // Kills: the message of Start's "started twice" invariant emptied (SwimMember.cs:112).
        Assert.Equal("SwimMember started twice",
            Assert.Throws<InvariantViolationException>(() => swim.Start([])).Message);
    }

    [Fact]
    public void A_member_needs_a_ping_and_its_own_alive_update_to_fit_one_datagram()
    {
        // With an MTU of 200 bytes the metadata that makes a ping plus this node's alive update exactly 200 bytes is
        // accepted and one byte more is refused, saying why.
        // Kills in SwimMember.cs:66 the check's "<= MaxDatagramBytes" as "<" (an exact fit refused) and its "+" as
        // "-" (an MTU too small for the member's own introduction accepted), and 67 its message emptied.
        const int mtu = 200;
        using var cluster = SwimCluster.Create(1, 63, network: new NetworkFaults { MtuBytes = mtu });
        var (fits, tooLarge) = cluster.Sim.Await(cluster.Nodes[0].Spawn(runtime =>
        {
            var ping = SwimCodec.EncodeMessage(new SwimPing(long.MaxValue, runtime.Id.Value, runtime.Id.Value));
            var bytes = Enumerable.Range(1, SwimCodec.MetadataBytesMax).First(m =>
                SwimCodec.OverheadBytes(ping) + SwimCodec.EncodeUpdate(new AliveUpdate(runtime.Id.Value, 0,
                    runtime.Datagrams.LocalAddress.Host, runtime.Datagrams.LocalAddress.Port,
                    runtime.Streams.LocalAddress.Host, runtime.Streams.LocalAddress.Port, new byte[m])).Length == mtu);
            return Task.FromResult((
                Record.Exception(() => new SwimMember(runtime, null, new byte[bytes])),
                Record.Exception(() => new SwimMember(runtime, null, new byte[bytes + 1]))));
        }), "members with metadata at and past the datagram's room");

        Assert.Null(fits);
        Assert.Equal("one alive update must fit in a datagram with a ping",
            Assert.IsType<InvariantViolationException>(tooLarge).Message);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    public void A_seed_answers_a_join_with_its_metadata_and_with_nil_when_it_has_none(int metadataBytes)
    {
        // Kills in SwimMember.cs:166 SelfAlive's "Metadata.IsEmpty ? null : Metadata.ToArray()" as "true ? ..." (the
        // join reply, and every alive update of this node, went without its metadata: joiners learned it only from
        // the push-pull that followed) and as "false ? ..." (no metadata went as an empty array, not nil).
        using var cluster = SwimCluster.Create(2, 64, metadataBytes: metadataBytes);
        var replies = new List<AliveUpdate>();
        cluster.Sim.Network.Tap = (from, _, payload) =>
        {
            if (from == cluster.Nodes[0]
                && SwimCodec.TryDecodeDatagram(payload, out string? _) is { Message: SwimJoinReply reply })
            {
                replies.Add(reply.Self);
            }
        };
        cluster.RunUntilConverged(20 * Second);

        Assert.NotEmpty(replies);
        Assert.All(replies, self => Assert.Equal(
            metadataBytes == 0 ? null : Enumerable.Repeat((byte)1, metadataBytes).ToArray(), self.Metadata));
    }

    [Fact]
    public void A_served_push_pull_whose_requester_vanishes_is_counted_failed()
    {
        using var cluster = SwimCluster.Create(3, 49);
        cluster.RunUntilConverged(20 * Second);
        var n1 = cluster.Nodes[0];
        var requester = cluster.Nodes[2];
        var failed = cluster.Swim(n1).Counters.PushPullsFailed;
        var frame = new SwimPushPull(false, false, requester.Name, [new AliveUpdate(requester.Name, 0,
            requester.Name, SimNode.GossipPort, requester.Name, SimNode.TransferPort, null)]);

        // The requester crashes the instant its state reaches n1: n1 merges it, and its reply meets a broken
        // stream. Kills: HandleStreamAsync's catch filter inverted (Streams.cs:40: the failure escapes to the owner
        // uncounted) and the failure's counter removed (42).
        var received = cluster.Swim(n1).Counters.Received(SwimTraffic.PushPull);
        cluster.Sim.Trace.Recorded += record =>
        {
            if (record.Kind == TraceKind.StreamFrame && record.Node == "n1" && record.Detail == requester.Name
                && requester.State == SimNodeState.Running)
            {
                cluster.Sim.Schedule(0, requester.Crash);
            }
        };
        cluster.Sim.Await(requester.Spawn(async runtime =>
        {
            var connection = await runtime.Streams.ConnectAsync(n1.TransferAddress);
            await connection.SendAsync(SwimCodec.EncodeFrame(frame));
        }), "the push-pull request to be sent");
        cluster.RunUntil(() => requester.State == SimNodeState.Down, Second, "the requester to crash", Millisecond);
        cluster.Sim.RunFor(Second / 10);
        Assert.Equal(received + 1, cluster.Swim(n1).Counters.Received(SwimTraffic.PushPull));
        Assert.Equal(failed + 1, cluster.Swim(n1).Counters.PushPullsFailed);
    }

    private static void Stop(SwimCluster cluster, SimNode node) =>
        cluster.Sim.Await(node.Spawn(_ =>
        {
            cluster.Swim(node).Stop();
            return Task.CompletedTask;
        }), $"{node.Name} to stop");

    private static void Feed(SwimCluster cluster, SimNode node, NetAddress from, SwimMessage? message,
        params MemberUpdate[] updates)
    {
        var bytes = SwimCodec.AssembleDatagram(message is null ? null : SwimCodec.EncodeMessage(message),
            updates.Select(SwimCodec.EncodeUpdate).ToList());
        cluster.Sim.Await(node.Spawn(_ =>
        {
            cluster.Swim(node).HandleDatagram(from, bytes);
            return Task.CompletedTask;
        }), $"{node.Name} to handle the crafted datagram");
    }

    /// <summary>A node that accepts stream connections and never reads, answers or closes them.</summary>
    private sealed class MuteProgram(NodeRuntime runtime) : INodeProgram
    {
        private readonly List<IStreamConnection> _held = [];

        public Task StartAsync()
        {
            runtime.Streams.SetAcceptor(_held.Add);
            return Task.CompletedTask;
        }
    }
}
