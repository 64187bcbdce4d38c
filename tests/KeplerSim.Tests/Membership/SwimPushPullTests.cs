using KeplerSim.Core.Membership;
using KeplerSim.Core.Runtime;
using KeplerSim.Sim.Kernel;
using KeplerSim.Tests.Sim;

namespace KeplerSim.Tests.Membership;

/// <summary>
/// Push-pull where it goes wrong: a join whose state sync gets a request back instead of a reply, or no answer at
/// all, must not count as joined; a reply offered as a request is refused unmerged; a member whose every peer was
/// declared dead and forgotten joins through its seeds again. Written for the SwimMember.PushPull.cs mutants that
/// no fast test reached, the scale tests included (docs/TESTING.md, "Membership survivors").
/// </summary>
[Trait("Category", "Fast")]
public sealed class SwimPushPullTests
{
    private const long Second = SimHarness.Second;

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void A_join_whose_state_sync_fails_is_retried(bool echo)
    {
        using var cluster = SwimCluster.Create(1, 51);
        var seed = cluster.Sim.AddNode("seed", runtime => new FakeSeed(runtime, echo));
        seed.Start();
        var joiner = cluster.Sim.AddNode("joiner", runtime => new SwimProgram(runtime, new SwimOptions(),
            [seed.GossipAddress], (_, _) => { }, []));
        joiner.Start();
        var joins = 0;
        cluster.Sim.Network.Tap = (from, to, payload) =>
        {
            if (from == joiner && to == seed.GossipAddress
                && SwimCodec.TryDecodeDatagram(payload, out string? _) is { Message: SwimJoinRequest })
            {
                joins++;
            }
        };
        cluster.Sim.RunFor(30 * Second);
        var swim = cluster.Swim(joiner);

        // The seed answers the join request, but its state sync answers with the request itself (echo) or not at
        // all: the joiner counts that and keeps asking. Kills: PushPull.cs:79-81 (a non-reply not counted
        // malformed, not counted failed, or taken as a successful sync) and 91 (a failed sync taken as joined).
        Assert.True(joins > 10, $"the joiner asked {joins} times in 30 s");
        Assert.True(swim.Counters.PushPullsFailed > 0, "the failed syncs were counted");
        if (echo)
        {
            Assert.True(swim.Counters.Malformed > 0, "the echoed request was counted malformed");
        }
    }

    [Fact]
    public void A_reply_offered_as_a_request_is_refused_unmerged_and_unanswered()
    {
        using var cluster = SwimCluster.Create(2, 52);
        cluster.RunUntilConverged(20 * Second);
        var n1 = cluster.Nodes[0];
        var malformed = cluster.Swim(n1).Counters.Malformed;
        var frame = new SwimPushPull(true, false, "n2",
            [new AliveUpdate("n7", 0, "n7", SimNode.GossipPort, "n7", SimNode.TransferPort, null)]);

        // Kills: ServePushPullAsync's malformed count (PushPull.cs:99) and its return (100) removed.
        var reply = cluster.Sim.Await(cluster.Nodes[1].Spawn(async runtime =>
        {
            using var connection = await runtime.Streams.ConnectAsync(n1.TransferAddress);
            await connection.SendAsync(SwimCodec.EncodeFrame(frame));
            return await connection.ReceiveAsync();
        }), "n1 to end the exchange");
        Assert.Null(reply);
        Assert.Null(cluster.Swim(n1).Find(new NodeId("n7")));
        Assert.Equal(malformed + 1, cluster.Swim(n1).Counters.Malformed);
    }

    [Fact]
    public void A_member_that_forgot_every_peer_joins_through_its_seeds_again()
    {
        var options = new SwimOptions
        {
            PushPullIntervalMicroseconds = 2 * Second,
            GossipToTheDeadMicroseconds = Second,
            DeadRetentionMicroseconds = 2 * Second,
        };
        using var cluster = SwimCluster.Create(2, 53, options);
        cluster.RunUntilConverged(20 * Second);
        var (n1, n2) = (cluster.Nodes[0], cluster.Nodes[1]);

        // Cut off long enough that each declares the other dead and then forgets it: n1 has no seed but itself,
        // n2 has n1. Nothing is left to probe or push-pull with; only n2's seeds bring them together.
        cluster.Sim.Network.Partition([n1], [n2]);
        cluster.RunUntil(() => cluster.Swim(n1).Members.Count == 1 && cluster.Swim(n2).Members.Count == 1,
            60 * Second, "both to forget each other");
        cluster.Sim.Network.Heal();

        // Kills: PushPull.cs:35-39 (the seed check negated, "_joined = false" as true, the JoinRound removed).
        cluster.RunUntil(cluster.Converged, 10 * Second, "n2 to join n1 again through its seed");
    }

    /// <summary>
    /// A seed that answers join requests (with its own alive state) and then fails the state sync: it echoes the
    /// push-pull request back (<c>echo</c>) or holds the stream open without a word.
    /// </summary>
    private sealed class FakeSeed(NodeRuntime runtime, bool echo) : INodeProgram
    {
        private readonly List<IStreamConnection> _held = [];

        public Task StartAsync()
        {
            runtime.Datagrams.SetReceiver((from, payload) =>
            {
                if (SwimCodec.TryDecodeDatagram(payload, out string? _) is { Message: SwimJoinRequest })
                {
                    var self = new AliveUpdate(runtime.Id.Value, 0, runtime.Datagrams.LocalAddress.Host,
                        runtime.Datagrams.LocalAddress.Port, runtime.Streams.LocalAddress.Host,
                        runtime.Streams.LocalAddress.Port, null);
                    runtime.Datagrams.Send(from,
                        SwimCodec.AssembleDatagram(SwimCodec.EncodeMessage(new SwimJoinReply(self)), []));
                }
            });
            runtime.Streams.SetAcceptor(connection =>
            {
                _held.Add(connection);
                if (echo)
                {
                    _ = EchoAsync(connection);
                }
            });
            return Task.CompletedTask;
        }

        private static async Task EchoAsync(IStreamConnection connection)
        {
            try
            {
                if (await connection.ReceiveAsync() is { } request)
                {
                    await connection.SendAsync(request);
                }
            }
            catch (StreamBrokenException)
            {
                // The joiner gave up first.
            }
        }
    }
}
