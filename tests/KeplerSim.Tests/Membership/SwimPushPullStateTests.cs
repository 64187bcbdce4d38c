using KeplerSim.Core.Membership;
using KeplerSim.Core.Runtime;
using KeplerSim.Sim.Kernel;
using KeplerSim.Tests.Sim;

namespace KeplerSim.Tests.Membership;

/// <summary>
/// What one push-pull exchange carries and changes (docs/PROTOCOL.md, SWIM's state sync): the initiator merges the
/// peer's members, their metadata and its cluster settings from the reply (a reply with no member list included);
/// the server answers with every member's metadata, counts the exchange and takes it as word from its sender; and
/// beyond 32 live members the interval between exchanges grows with the log of the cluster size. Written for the
/// SwimMember.PushPull.cs survivors of the membership-scale run (docs/TESTING.md, "PushPull.cs survivors of the
/// membership-scale run").
/// </summary>
[Trait("Category", "Fast")]
public sealed class SwimPushPullStateTests
{
    private const long Second = SimHarness.Second;

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_joiner_takes_members_metadata_and_settings_from_its_seeds_push_pull_reply(bool noMemberList)
    {
        using var cluster = SwimCluster.Create(1, 71);
        var settings = new ClusterSettings(2, 5, "seed");
        var seed = cluster.Sim.AddNode("seed", runtime => new FakeSeed(runtime, self =>
            new SwimPushPull(true, true, "seed", noMemberList
                ? null
                : [self, new AliveUpdate("n7", 3, "n7", SimNode.GossipPort, "n7", SimNode.TransferPort, [1, 2, 3])],
                settings)));
        seed.Start();
        var joiner = cluster.Sim.AddNode("joiner", runtime => new SwimProgram(runtime, new SwimOptions(),
            [seed.GossipAddress], (_, _) => { }, []));
        joiner.Start();
        var swim = cluster.Swim(joiner);

        // n7 exists only in the seed's reply, and the settings travel only there: the joiner learns both from it.
        cluster.RunUntil(() => swim.Counters.Received(SwimTraffic.PushPull) > 0, 10 * Second, "the join's sync");
        Assert.Equal(settings, swim.Settings);
        Assert.True(swim.IsJoined);
        if (!noMemberList)
        {
            var n7 = swim.Find(new NodeId("n7"));
            Assert.NotNull(n7);
            Assert.Equal(3, n7.Incarnation);
            Assert.Equal([1, 2, 3], n7.Metadata.ToArray());
        }
    }

    [Fact]
    public void A_join_whose_state_sync_is_never_answered_is_not_joined()
    {
        using var cluster = SwimCluster.Create(1, 74);
        var seed = cluster.Sim.AddNode("seed", runtime => new FakeSeed(runtime, _ => null));
        seed.Start();
        var joiner = cluster.Sim.AddNode("joiner", runtime => new SwimProgram(runtime, new SwimOptions(),
            [seed.GossipAddress], (_, _) => { }, []));
        joiner.Start();
        cluster.Sim.RunFor(30 * Second);

        // The seed answers the join request but never the state sync: each sync times out, counted failed, and the
        // joiner must not take a sync it never got for a join (it would stop asking its seeds).
        var swim = cluster.Swim(joiner);
        Assert.True(swim.Counters.PushPullsFailed > 0, "the unanswered syncs were counted failed");
        Assert.False(swim.IsJoined);
    }

    [Fact]
    public void A_served_push_pull_answers_with_every_members_metadata_counts_the_exchange_and_hears_its_sender()
    {
        using var cluster = SwimCluster.Create(3, 72, new SwimOptions { PushPullIntervalMicroseconds = 600 * Second },
            metadataBytes: 3);
        cluster.RunUntilConverged(20 * Second);
        var (n1, n2, n3) = (cluster.Nodes[0], cluster.Nodes[1], cluster.Nodes[2]);
        var swim = cluster.Swim(n1);

        // n3 crashes; a moment later a push-pull in its name reaches n1 (sent from n2's host): n1 heard from n3 then.
        n3.Crash();
        cluster.Sim.RunFor(200_000);
        var heardBefore = swim.LastHeardMicroseconds(n3.Id)!.Value;
        var (received, sent) = (swim.Counters.Received(SwimTraffic.PushPull), swim.Counters.Sent(SwimTraffic.PushPull));
        var start = cluster.Sim.Now;
        var reply = cluster.Sim.Await(n2.Spawn(async runtime =>
        {
            using var connection = await runtime.Streams.ConnectAsync(n1.TransferAddress);
            await connection.SendAsync(SwimCodec.EncodeFrame(new SwimPushPull(false, false, "n3", [])));
            return await connection.ReceiveAsync();
        }), "n1's push-pull reply");

        var frame = Assert.IsType<SwimPushPull>(SwimCodec.TryDecodeFrame(reply!.Value, out string? error));
        Assert.Null(error);
        Assert.True(frame.IsReply);
        foreach (var node in new[] { n1, n2, n3 })
        {
            var update = Assert.Single(frame.Members!.OfType<AliveUpdate>(), u => u.Node == node.Name);
            Assert.Equal(Enumerable.Repeat((byte)(node.Index + 1), 3).ToArray(), update.Metadata);
        }

        Assert.Equal(received + 1, swim.Counters.Received(SwimTraffic.PushPull));
        Assert.Equal(sent + 1, swim.Counters.Sent(SwimTraffic.PushPull));
        Assert.True(swim.LastHeardMicroseconds(n3.Id) >= start,
            $"n1 last heard n3 at {swim.LastHeardMicroseconds(n3.Id)} us (before: {heardBefore}), the push-pull came "
            + $"after {start} us");
    }

    [Fact]
    public void Beyond_32_live_members_the_push_pull_interval_grows_with_the_log_of_the_cluster_size()
    {
        var options = new SwimOptions
        {
            PushPullIntervalMicroseconds = 2 * Second,
            ProbeIntervalMicroseconds = 600 * Second, // No probe: the phantoms below stay alive for the test.
        };
        using var cluster = SwimCluster.Create(2, 73, options);
        cluster.RunUntilConverged(20 * Second);
        var (n1, n2) = (cluster.Nodes[0], cluster.Nodes[1]);
        var swim = cluster.Swim(n1);

        // 40 members no host answers for: n1 sees 42 live members, so its interval is 2 s x (ceil(log2(42/32)) + 1).
        var phantoms = Enumerable.Range(1, 40)
            .Select(i => (MemberUpdate)new AliveUpdate($"p{i}", 1, $"p{i}", SimNode.GossipPort, $"p{i}",
                SimNode.TransferPort, null))
            .ToArray();
        cluster.Sim.Await(n2.Spawn(async runtime =>
        {
            using var connection = await runtime.Streams.ConnectAsync(n1.TransferAddress);
            await connection.SendAsync(SwimCodec.EncodeFrame(new SwimPushPull(false, false, "n2", phantoms)));
            return await connection.ReceiveAsync();
        }), "the phantoms to be merged");
        Assert.Equal(42, swim.Members.Count(m => m.IsLive));

        // Each round tries one live member, nearly always a phantom (a failed exchange): 4 s apart, not 2 or 0.5.
        var failed = swim.Counters.PushPullsFailed;
        cluster.Sim.RunFor(40 * Second);
        Assert.Equal(42, swim.Members.Count(m => m.IsLive));
        Assert.InRange(swim.Counters.PushPullsFailed - failed, 8, 11);
    }

    /// <summary>
    /// A seed that answers join requests with its own alive state and every push-pull with the frame
    /// <c>reply</c> makes of that state (null: no answer).
    /// </summary>
    private sealed class FakeSeed(NodeRuntime runtime, Func<AliveUpdate, SwimPushPull?> reply) : INodeProgram
    {
        public Task StartAsync()
        {
            var self = new AliveUpdate(runtime.Id.Value, 0, runtime.Datagrams.LocalAddress.Host,
                runtime.Datagrams.LocalAddress.Port, runtime.Streams.LocalAddress.Host,
                runtime.Streams.LocalAddress.Port, null);
            runtime.Datagrams.SetReceiver((from, payload) =>
            {
                if (SwimCodec.TryDecodeDatagram(payload, out string? _) is { Message: SwimJoinRequest })
                {
                    runtime.Datagrams.Send(from,
                        SwimCodec.AssembleDatagram(SwimCodec.EncodeMessage(new SwimJoinReply(self)), []));
                }
            });
            runtime.Streams.SetAcceptor(connection => _ = AnswerAsync(connection, self));
            return Task.CompletedTask;
        }

        private async Task AnswerAsync(IStreamConnection connection, AliveUpdate self)
        {
            using (connection)
            {
                try
                {
                    if (await connection.ReceiveAsync() is not null)
                    {
                        if (reply(self) is { } frame)
                        {
                            await connection.SendAsync(SwimCodec.EncodeFrame(frame));
                        }
                        else
                        {
                            await connection.ReceiveAsync(); // Silent until the joiner gives up.
                        }
                    }
                }
                catch (StreamBrokenException)
                {
                    // The joiner gave up first.
                }
            }
        }
    }
}
