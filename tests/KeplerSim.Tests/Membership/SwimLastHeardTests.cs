using System.Globalization;
using KeplerSim.Core.Membership;
using KeplerSim.Sim.Kernel;
using KeplerSim.Tests.Sim;
using Xunit.Abstractions;

namespace KeplerSim.Tests.Membership;

/// <summary>
/// <see cref="SwimMember.LastHeardMicroseconds"/>: when a node last received anything from a member, on its own
/// runtime clock. The API and the UI show it as "last heard"; before, they could only show how long a member had
/// been in its state, which says nothing about an alive member that has gone quiet.
/// </summary>
[Trait("Category", "Fast")]
public sealed class SwimLastHeardTests(ITestOutputHelper output)
{
    private const long SampleMicroseconds = 100_000;

    // Datagrams a node sent just before it was paused still arrive (one network latency later).
    private const long InFlightMicroseconds = 200_000;

    // With three nodes each probes the other two in turn (1 s apart) and is probed as often: a talking member is
    // heard at least every two probe intervals; a third is slack for a stretched interval or a lost datagram.
    private const long FreshMaxMicroseconds = 3 * SimHarness.Second;

    [Theory]
    [InlineData(1UL)]
    [InlineData(2UL)]
    public void A_member_that_stops_sending_ages_while_still_alive_and_a_talking_one_stays_fresh(ulong seed)
    {
        using var cluster = SwimCluster.Create(3, seed);
        cluster.RunUntilConverged(20 * SimHarness.Second);
        cluster.Sim.RunFor(5 * SimHarness.Second);
        var (observer, talking, silent) = (cluster.Nodes[0], cluster.Nodes[1], cluster.Nodes[2]);
        var swim = cluster.Swim(observer);
        Assert.Null(swim.LastHeardMicroseconds(observer.Id)); // Itself: not a thing it hears.
        Assert.True(Age(observer, silent) <= FreshMaxMicroseconds, $"{silent.Name} was heard before the pause");

        silent.Pause();
        var pausedAt = Now(observer);
        cluster.Sim.RunFor(InFlightMicroseconds);
        var lastHeard = swim.LastHeardMicroseconds(silent.Id);
        Assert.NotNull(lastHeard);
        Assert.True(lastHeard <= pausedAt + InFlightMicroseconds, "heard after the pause");

        long aliveAgeMax = 0;
        long talkingAgeMax = 0;
        while (cluster.StatusOf(observer, silent) != MemberStatus.Dead)
        {
            Assert.True(Now(observer) - pausedAt < 60 * SimHarness.Second, $"{silent.Name} never declared dead");
            cluster.Sim.RunFor(SampleMicroseconds);

            // Nothing from the silent member, whatever its state: its age grows with the clock.
            Assert.Equal(lastHeard, swim.LastHeardMicroseconds(silent.Id));
            if (cluster.StatusOf(observer, silent) == MemberStatus.Alive)
            {
                aliveAgeMax = Math.Max(aliveAgeMax, Age(observer, silent));
            }

            talkingAgeMax = Math.Max(talkingAgeMax, Age(observer, talking));
            Assert.True(Age(observer, talking) <= FreshMaxMicroseconds,
                $"{talking.Name} not heard for {Age(observer, talking)} us while it talks");
        }

        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"seed {seed}: silent member still alive at age {aliveAgeMax / 1e6:F1} s, dead at age " +
            $"{Age(observer, silent) / 1e6:F1} s; talking member's age at most {talkingAgeMax / 1e6:F1} s"));

        // Alive in the observer's view while unheard for longer than the talking member ever was unheard in the
        // probe round that caught it: the approximation "alive = answering probes" would have said just now.
        Assert.True(aliveAgeMax >= SimHarness.Second / 2,
            $"{silent.Name} was alive at most {aliveAgeMax} us after it went silent");
        Assert.True(Age(observer, silent) >= Now(observer) - pausedAt - InFlightMicroseconds, "dead member's age");
    }

    /// <summary>
    /// n1 and n2 cannot exchange anything (datagrams and streams cut both ways) while every other link works: n1
    /// hears n2 only through the acks relays pass on for its probes. Those count as heard, so n2's age stays
    /// within a probe round or two for the whole minute; counted otherwise it would reach the minute.
    /// </summary>
    [Fact]
    public void An_ack_relayed_through_ping_req_counts_as_heard()
    {
        using var cluster = SwimCluster.Create(5, 3);
        cluster.RunUntilConverged(20 * SimHarness.Second);
        var (prober, target) = (cluster.Nodes[0], cluster.Nodes[1]);
        cluster.Sim.Network.Partition([prober], [target]);
        var cutAt = Now(prober);
        long ageMax = 0;
        while (Now(prober) - cutAt < 60 * SimHarness.Second)
        {
            cluster.Sim.RunFor(SampleMicroseconds);
            ageMax = Math.Max(ageMax, Age(prober, target));
        }

        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"a minute cut off from {prober.Name}: {target.Name}'s age at most {ageMax / 1e6:F1} s"));
        Assert.Equal(MemberStatus.Alive, cluster.StatusOf(prober, target));

        // Four members probed in turn, one a second: each once per round of about 4 s; two rounds of slack.
        Assert.True(ageMax <= 10 * SimHarness.Second, $"{target.Name} unheard for {ageMax} us behind the cut");
    }

    /// <summary>
    /// A datagram that names no sender (gossip, an ack) is heard from the member at the gossip address it came
    /// from. Pinned because no test caught a broken address lookup: with <c>AtAddress</c> returning nothing, every
    /// other test of last-heard still passed (pings name their source, push-pull its peer).
    /// </summary>
    [Fact]
    public void A_datagram_naming_no_sender_is_heard_from_the_member_at_its_address()
    {
        using var cluster = SwimCluster.Create(3, 4);
        cluster.RunUntilConverged(20 * SimHarness.Second);
        var (observer, quiet) = (cluster.Nodes[0], cluster.Nodes[2]);
        quiet.Pause();
        cluster.Sim.RunFor(2 * SimHarness.Second); // Nothing from it: its age grows past any in-flight datagram.
        Assert.True(Age(observer, quiet) >= SimHarness.Second, $"{quiet.Name} still heard while paused");

        var unnamed = SwimCodec.AssembleDatagram(null, []);
        cluster.Sim.Await(observer.Spawn(_ =>
        {
            cluster.Swim(observer).HandleDatagram(new Core.Runtime.NetAddress("stranger", 7946), unnamed);
            return Task.CompletedTask;
        }), "a stranger's datagram");
        Assert.True(Age(observer, quiet) >= SimHarness.Second, "a stranger's datagram was heard from a member");

        cluster.Sim.Await(observer.Spawn(_ =>
        {
            cluster.Swim(observer).HandleDatagram(quiet.GossipAddress, unnamed);
            return Task.CompletedTask;
        }), $"a datagram from {quiet.Name}'s address");
        Assert.Equal(0, Age(observer, quiet));
    }

    private static long Now(SimNode node) => node.Runtime!.Clock.MonotonicMicroseconds;

    private static long Age(SimNode observer, SimNode member)
    {
        var swim = ((SwimProgram)observer.Program!).Swim;
        var heard = swim.LastHeardMicroseconds(member.Id);
        Assert.True(heard is not null, $"{observer.Name} never heard from {member.Name}");
        return Now(observer) - heard.Value;
    }
}
