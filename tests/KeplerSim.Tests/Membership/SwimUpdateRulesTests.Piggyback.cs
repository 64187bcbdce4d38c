using KeplerSim.Core.Membership;
using KeplerSim.Sim.Kernel;

namespace KeplerSim.Tests.Membership;

/// <summary>
/// Piggybacking: how many pending updates ride on one datagram (the byte budget and the count limit, a ping's
/// suspicion of its target counted in both) and how often each update is sent. Written to kill the twelfth
/// session's Stryker survivors of SwimMember.Datagrams.cs:221-250, which no test with a handful of members reached:
/// their queues never filled a datagram (docs/TESTING.md, "Membership survivors, twelfth session").
/// </summary>
public sealed partial class SwimUpdateRulesTests
{
    // Two-character ids, so that a stranger's departure and n1's suspicion of n2 (both at incarnation 0) encode to
    // the same number of bytes.
    private static readonly string[] Strangers =
        Enumerable.Range(0, 70).Select(i => $"{(char)('a' + i / 10)}{i % 10}").ToArray();

    [Fact]
    public void A_datagram_carries_at_most_the_piggyback_limit_of_updates_a_pings_suspicion_included()
    {
        // Kills in SwimMember.Datagrams.cs:224 "PiggybackUpdatesMax - (first is null ? 0 : 1)" as "+" (a ping with
        // a suspicion carried 65), "(true ? 0 : 1)" (65), "(false ? 0 : 1)" (a plain datagram carried 63) and
        // "first is not null" (63 and 65); and 225 the buggify condition negated (one update per datagram).
        var (plain, withSuspicion) = PingsToAVanishedMember(new NetworkFaults());

        Assert.Equal(SwimMember.PiggybackUpdatesMax, plain.Updates!.Length);
        Assert.Equal(SwimMember.PiggybackUpdatesMax, withSuspicion.Updates!.Length);
    }

    [Fact]
    public void A_ping_and_its_suspicion_fill_the_datagram_to_the_byte_and_never_past_it()
    {
        // The MTU is exactly a ping, the suspicion and 20 of the 71 equally sized pending updates, so a correct
        // budget fills the datagram to the last byte.
        // Kills in SwimMember.Datagrams.cs:221 the budget's "- (first?.Length ?? 0)" as "+" and "MaxDatagramBytes -
        // OverheadBytes" as "+", 222 "(first?.Length ?? 0)" as "0" (each took a 21st update: past the MTU, the
        // invariant threw in n1's probe timer), and 242 "bytes.Length <= MaxDatagramBytes" as "<" (a datagram of
        // exactly the MTU refused).
        const int updatesThatFit = 20;
        var size = SwimCodec.EncodeUpdate(new DeadUpdate(Strangers[0], 0, Strangers[0])).Length;
        var suspicion = SwimCodec.EncodeUpdate(new SuspectUpdate("n2", 0, "n1"));
        Assert.Equal(size, suspicion.Length);

        // A sequence number of 2^35 encodes as the 9 bytes of a random start in [2^32, 2^40) (n1's, at this seed).
        var ping = SwimCodec.EncodeMessage(new SwimPing(1L << 35, "n2", "n1"));
        var mtu = SwimCodec.OverheadBytes(ping) + suspicion.Length + updatesThatFit * size;

        var (_, withSuspicion) = PingsToAVanishedMember(new NetworkFaults { MtuBytes = mtu });

        Assert.Equal(mtu, SwimCodec.AssembleDatagram(SwimCodec.EncodeMessage(withSuspicion.Message!),
            withSuspicion.Updates!.Select(SwimCodec.EncodeUpdate).ToList()).Length);
        Assert.Equal(1 + updatesThatFit, withSuspicion.Updates!.Length);
    }

    [Fact]
    public void Each_update_is_sent_the_retransmit_multiplier_times_the_ceiling_of_log10_of_live_members_plus_one()
    {
        // Ten live members: 4 × ceil(log10(11)) = 8 transmissions of the news of one departure.
        // Kills in SwimMember.Datagrams.cs:250 "mult * ceil(...)" as "mult / ceil(...)" (2) and "LiveCount() + 1.0"
        // as "- 1.0" (4 × ceil(log10(9)) = 4).
        using var cluster = Drained(10, 61);
        var sent = 0;
        cluster.Sim.Network.Tap = (from, _, payload) =>
        {
            if (from == cluster.Nodes[0] && SwimCodec.TryDecodeDatagram(payload, out string? _) is { } datagram)
            {
                sent += datagram.Updates?.Count(u => u is DeadUpdate { Node: "zz" }) ?? 0;
            }
        };

        Feed(cluster, from: 1, StrangerAlive("zz"), new DeadUpdate("zz", 0, "zz"));
        cluster.Sim.RunFor(30 * Second);

        Assert.Equal(4 * 2, sent);
    }

    /// <summary>
    /// A two-node cluster whose n1 has heard of 70 departed strangers (70 pending updates, none of them probed) and
    /// gossips only every 100 s, so its pings carry the pending updates; then n2 crashes. Returns n1's first ping
    /// to n2 and its first ping that carries the suspicion of n2 (after a probe failed).
    /// </summary>
    private static (SwimDatagram Plain, SwimDatagram WithSuspicion) PingsToAVanishedMember(NetworkFaults network)
    {
        var options = new SwimOptions { GossipIntervalMicroseconds = 100 * Second };
        using var cluster = Drained(2, 60, options, network);
        var n2 = cluster.Nodes[1];
        var pings = new List<SwimDatagram>();
        cluster.Sim.Network.Tap = (from, to, payload) =>
        {
            if (from == cluster.Nodes[0] && to == n2.GossipAddress
                && SwimCodec.TryDecodeDatagram(payload, out string? _) is { Message: SwimPing } datagram)
            {
                pings.Add(datagram);
            }
        };

        foreach (var stranger in Strangers)
        {
            Feed(cluster, from: 1, StrangerAlive(stranger), new DeadUpdate(stranger, 0, stranger));
        }

        Assert.Equal(Strangers.Length, cluster.Swim(0).PendingUpdates);
        n2.Crash();
        cluster.RunUntil(() => pings.Any(CarriesSuspicionOfN2), 20 * Second, "n1 to ping n2 with its suspicion",
            Second / 10);

        return (pings[0], pings.First(CarriesSuspicionOfN2));

        static bool CarriesSuspicionOfN2(SwimDatagram d) => d.Updates is [SuspectUpdate { Node: "n2" }, ..];
    }

    private static AliveUpdate StrangerAlive(string id) => new(id, 0, "h" + id, 7000, "h" + id, 7001, null);
}
