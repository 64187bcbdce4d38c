using KeplerSim.Core.Membership;
using KeplerSim.Core.Runtime;
using KeplerSim.Sim.Kernel;
using KeplerSim.Tests.Sim;

namespace KeplerSim.Tests.Membership;

/// <summary>
/// SWIM's update rules one datagram at a time: crafted alive, suspect and dead updates are handed to n1 as its
/// receiver would (<see cref="SwimMember.HandleDatagram"/>), and n1's view, its pending gossip and the updates it
/// then sends (read off the simulated network's tap) are checked. Written to kill the Stryker survivors of
/// SwimMember.Suspect.cs and SwimMember.Gossip.cs that only slow chaos scenarios reached: re-announced departures,
/// refutation arithmetic, the dead and left rules, alive updates' metadata and times, reaping, and gossip to the
/// recently dead (docs/TESTING.md, "Membership survivors").
/// </summary>
[Trait("Category", "Fast")]
public sealed partial class SwimUpdateRulesTests
{
    private const long Second = SimHarness.Second;

    [Fact]
    public void A_departed_member_announcing_its_old_incarnation_hears_of_its_departure_again()
    {
        using var cluster = Drained(4, 21);
        var x = cluster.Nodes[3];
        Leave(cluster, x);
        var a = cluster.Swim(0);
        var incarnation = a.Find(x.Id)!.Incarnation;

        var sent = Capture(cluster, cluster.Nodes[0]);
        Feed(cluster, from: 1, Alive(x, incarnation));

        // The restarted member knows nothing of its departure: n1 keeps it left and gossips the departure again,
        // as a leave (from the member itself), so the member refutes with a higher incarnation.
        Assert.Equal(MemberStatus.Left, a.Find(x.Id)!.Status);
        Assert.Equal(1, a.PendingUpdates);
        cluster.Sim.RunFor(Second);
        Assert.Contains(new DeadUpdate(x.Name, incarnation, x.Name), sent);

        // One incarnation higher is a real return.
        Feed(cluster, from: 1, Alive(x, incarnation + 1));
        Assert.Equal(MemberStatus.Alive, a.Find(x.Id)!.Status);
        Assert.Equal(incarnation + 1, a.Find(x.Id)!.Incarnation);
    }

    [Fact]
    public void A_suspicion_of_a_departed_member_re_gossips_the_departure_only_at_its_incarnation()
    {
        using var cluster = Drained(4, 22);
        var x = cluster.Nodes[3];
        Leave(cluster, x);
        var a = cluster.Swim(0);
        var incarnation = a.Find(x.Id)!.Incarnation;

        // At another incarnation the accusation is not about the departure n1 knows: nothing to repeat.
        Feed(cluster, from: 1, new SuspectUpdate(x.Name, incarnation + 1, "n2"));
        Assert.Equal(0, a.PendingUpdates);
        Assert.Equal(MemberStatus.Left, a.Find(x.Id)!.Status);
        Assert.Equal(incarnation, a.Find(x.Id)!.Incarnation);

        var sent = Capture(cluster, cluster.Nodes[0]);
        Feed(cluster, from: 1, new SuspectUpdate(x.Name, incarnation, "n2"));
        Assert.Equal(1, a.PendingUpdates);
        cluster.Sim.RunFor(Second);
        Assert.Contains(new DeadUpdate(x.Name, incarnation, x.Name), sent);
        Assert.Equal(MemberStatus.Left, a.Find(x.Id)!.Status);
    }

    [Fact]
    public void A_suspicion_of_a_dead_member_re_gossips_the_death_in_the_observers_name()
    {
        using var cluster = Drained(4, 23);
        var x = cluster.Nodes[3];
        x.Crash();
        cluster.RunUntil(() => cluster.AllSee(x, MemberStatus.Dead), 60 * Second, "every survivor to declare n4 dead");
        DrainGossip(cluster);
        var a = cluster.Swim(0);
        var incarnation = a.Find(x.Id)!.Incarnation;

        var sent = Capture(cluster, cluster.Nodes[0]);
        Feed(cluster, from: 2, new SuspectUpdate(x.Name, incarnation, "n3"));
        Assert.Equal(1, a.PendingUpdates);
        cluster.Sim.RunFor(Second);

        // A death is repeated as n1's own verdict, not as a leave: a straggler must not mark n4 left.
        Assert.Contains(new DeadUpdate(x.Name, incarnation, "n1"), sent);
        Assert.DoesNotContain(new DeadUpdate(x.Name, incarnation, x.Name), sent);
        Assert.Equal(MemberStatus.Dead, a.Find(x.Id)!.Status);
    }

    [Fact]
    public void A_relayed_probe_of_a_departed_member_re_gossips_the_departure()
    {
        using var cluster = Drained(4, 24);
        var x = cluster.Nodes[3];
        Leave(cluster, x);
        var a = cluster.Swim(0);
        var incarnation = a.Find(x.Id)!.Incarnation;

        // A ping-req for a live member is only relayed: nothing to gossip.
        var live = cluster.Nodes[2];
        Deliver(cluster, from: 1, new SwimPingRequest(1, live.Name, live.GossipAddress.Host, live.GossipAddress.Port,
            WantNack: true));
        Assert.Equal(0, a.PendingUpdates);

        // n2 still probes n4, which n1 holds as left: n2 missed the leave (and its own suspicion's gossip ran out, so
        // no accusation reaches n1). n1 gossips the leave again, and its nack carries it back. Kills: the departure
        // check in OnPingRequest removed (stale-suspicion-of-departed-relayed.yaml: n2 kept n4 past the 20 s bound).
        var sent = Capture(cluster, cluster.Nodes[0]);
        Deliver(cluster, from: 1, new SwimPingRequest(2, x.Name, x.GossipAddress.Host, x.GossipAddress.Port,
            WantNack: true));
        Assert.Equal(1, a.PendingUpdates);
        cluster.Sim.RunFor(Second);
        Assert.Contains(new DeadUpdate(x.Name, incarnation, x.Name), sent);
        Assert.Equal(MemberStatus.Left, a.Find(x.Id)!.Status);
    }

    [Fact]
    public void A_dead_member_can_still_be_marked_left_and_nothing_else_moves_a_departed_one()
    {
        using var cluster = Drained(4, 24);
        var x = cluster.Nodes[3];
        x.Crash();
        cluster.RunUntil(() => cluster.AllSee(x, MemberStatus.Dead), 60 * Second, "every survivor to declare n4 dead");
        DrainGossip(cluster);
        var a = cluster.Swim(0);
        var dead = a.Find(x.Id)!;

        // A second death verdict changes nothing, not even the time of the last status change.
        cluster.Sim.RunFor(Second);
        Feed(cluster, from: 1, new DeadUpdate(x.Name, dead.Incarnation, "n2"));
        Assert.Equal(dead, a.Find(x.Id));
        Assert.Equal(0, a.PendingUpdates);

        // Its own (late) leave does move it: dead → left, passed on.
        Feed(cluster, from: 1, new DeadUpdate(x.Name, dead.Incarnation, x.Name));
        var left = a.Find(x.Id)!;
        Assert.Equal(MemberStatus.Left, left.Status);
        Assert.Equal(cluster.Sim.Now, left.StatusChangedMicroseconds);
        Assert.Equal(1, a.PendingUpdates);

        // Once left, no verdict moves it, at any incarnation.
        Feed(cluster, from: 1, new DeadUpdate(x.Name, dead.Incarnation + 5, "n2"),
            new DeadUpdate(x.Name, dead.Incarnation + 5, x.Name));
        Assert.Equal(left, a.Find(x.Id));
    }

    [Fact]
    public void A_stale_death_verdict_about_a_live_member_is_ignored()
    {
        using var cluster = Drained(4, 25);
        var a = cluster.Swim(0);
        var member = cluster.Nodes[2];
        Feed(cluster, from: 1, Alive(member, 3));
        Assert.Equal(3, a.Find(member.Id)!.Incarnation);

        Feed(cluster, from: 1, new DeadUpdate(member.Name, 2, "n2"), new SuspectUpdate(member.Name, 2, "n2"));

        Assert.Equal(MemberStatus.Alive, a.Find(member.Id)!.Status);
        Assert.Equal(3, a.Find(member.Id)!.Incarnation);
    }

    [Fact]
    public void A_refutation_jumps_past_the_accusation_and_a_stale_one_is_answered_without_a_new_incarnation()
    {
        using var cluster = Drained(4, 26);
        var a = cluster.Swim(0);
        var before = a.Self.Incarnation;
        var sent = Capture(cluster, cluster.Nodes[0]);

        // Accused at an incarnation above its own, n1 comes back one above the accusation, not one above itself.
        Feed(cluster, from: 1, new SuspectUpdate("n1", before + 5, "n2"));
        Assert.Equal(before + 6, a.Self.Incarnation);
        Assert.Equal(1, a.Counters.Refutations);
        Assert.Equal(1, a.HealthScore);
        cluster.Sim.RunFor(Second);
        Assert.Contains(sent, u => u is AliveUpdate { Node: "n1" } alive && alive.Incarnation == before + 6);

        // An accusation of an incarnation already refuted: announce the current one again, without raising it.
        DrainGossip(cluster);
        sent.Clear();
        Feed(cluster, from: 1, new DeadUpdate("n1", before + 2, "n2"));
        Assert.Equal(before + 6, a.Self.Incarnation);
        Assert.Equal(1, a.Counters.Refutations);
        Assert.Equal(1, a.PendingUpdates);
        cluster.Sim.RunFor(Second);
        Assert.Contains(sent, u => u is AliveUpdate { Node: "n1" } alive && alive.Incarnation == before + 6);

        // Declared dead at its current incarnation: refute once more.
        Feed(cluster, from: 1, new DeadUpdate("n1", before + 6, "n2"));
        Assert.Equal(before + 7, a.Self.Incarnation);
        Assert.Equal(MemberStatus.Alive, a.Self.Status);
    }

    [Fact]
    public void An_alive_update_carries_metadata_and_keeps_the_time_of_the_last_status_change()
    {
        using var cluster = Drained(4, 27);
        var a = cluster.Swim(0);
        var member = cluster.Nodes[2];
        var before = a.Find(member.Id)!;

        cluster.Sim.RunFor(Second);
        Feed(cluster, from: 1, Alive(member, before.Incarnation + 1, [9, 9]));
        var after = a.Find(member.Id)!;
        Assert.Equal(before.Incarnation + 1, after.Incarnation);
        Assert.Equal(new byte[] { 9, 9 }, after.Metadata.ToArray());
        Assert.Equal(before.StatusChangedMicroseconds, after.StatusChangedMicroseconds);
        Assert.Equal(1, a.PendingUpdates);

        // Suspect, then alive again (n3 refutes the suspicion n1 gossips): both are status changes, stamped when
        // they happen. (n3 heard of itself at a higher incarnation above and refuted already: read it now.)
        cluster.Sim.RunFor(Second);
        var current = a.Find(member.Id)!.Incarnation;
        Feed(cluster, from: 1, new SuspectUpdate(member.Name, current, "n2"));
        var suspectedAt = cluster.Sim.Now;
        Assert.Equal(MemberStatus.Suspect, a.Find(member.Id)!.Status);
        Assert.Equal(suspectedAt, a.Find(member.Id)!.StatusChangedMicroseconds);
        cluster.RunUntil(() => a.Find(member.Id)!.Status == MemberStatus.Alive, 5 * Second, "n3 to refute",
            Second / 1000);
        var back = a.Find(member.Id)!;
        Assert.True(back.Incarnation > current, "the refutation raised n3's incarnation");
        Assert.InRange(back.StatusChangedMicroseconds, suspectedAt + 1, cluster.Sim.Now);

        // Another address claiming a live member's id is ignored (memberlist's conflict rule), whatever its
        // incarnation.
        Feed(cluster, from: 1, new AliveUpdate(member.Name, back.Incarnation + 9, "elsewhere", 1, "elsewhere", 2, null));
        Assert.Equal(back, a.Find(member.Id));
    }

    [Fact]
    public void The_recently_dead_get_gossip_and_the_long_dead_are_forgotten()
    {
        var options = new SwimOptions
        {
            GossipToTheDeadMicroseconds = 10 * Second,
            DeadRetentionMicroseconds = 40 * Second,
        };
        using var cluster = Drained(4, 28, options);
        var a = cluster.Swim(0);
        var x = cluster.Nodes[3];
        var toX = new List<long>();
        cluster.Sim.Network.Tap = (from, to, _) =>
        {
            if (from == cluster.Nodes[0] && to == x.GossipAddress)
            {
                toX.Add(cluster.Sim.Now);
            }
        };
        var live = a.Find(cluster.Nodes[1].Id);
        x.Crash();
        cluster.RunUntil(() => a.Find(x.Id)?.Status == MemberStatus.Dead, 60 * Second, "n1 to declare n4 dead",
            Second / 100);
        var deadAt = a.Find(x.Id)!.StatusChangedMicroseconds;

        // Right after the verdict n1's gossip (the news of the death itself) still goes to n4 as well.
        cluster.Sim.RunFor(2 * Second);
        Assert.Contains(toX, t => t > deadAt);

        // Past GossipToTheDead, gossip (here: news of a refutation) no longer does.
        cluster.Sim.RunFor(10 * Second);
        DrainGossip(cluster);
        var quietSince = cluster.Sim.Now;
        Feed(cluster, from: 1, new SuspectUpdate("n1", a.Self.Incarnation, "n2"));
        cluster.Sim.RunFor(3 * Second);
        Assert.DoesNotContain(toX, t => t >= quietSince);

        // Kept until DeadRetention has passed (its news must not be learnt again as new), forgotten after.
        cluster.RunUntil(() => cluster.Sim.Now >= deadAt + 39 * Second, 60 * Second, "39 s after the verdict");
        Assert.NotNull(a.Find(x.Id));
        cluster.RunUntil(() => a.Find(x.Id) is null, 5 * Second, "n1 to forget n4 once its retention passed");

        // Only the departed are reaped. Kills in SwimMember.Suspect.cs: "Id != Id && !IsLive" as "||" (295): every
        // member alive for longer than DeadRetention was forgotten (and learnt again as new at its next word).
        Assert.Equal(live, a.Find(cluster.Nodes[1].Id));
    }

    [Fact]
    public void A_return_to_alive_is_published_and_an_incarnation_bump_of_a_live_member_is_not()
    {
        using var cluster = Drained(4, 29);
        var a = cluster.Swim(0);
        var member = cluster.Nodes[2];
        var events = Events(cluster, "n1", "member.alive");
        var incarnation = a.Find(member.Id)!.Incarnation;

        // A live member at a higher incarnation: news to gossip, but no change of status to publish.
        Feed(cluster, from: 1, Alive(member, incarnation + 1));
        Assert.Equal(incarnation + 1, a.Find(member.Id)!.Incarnation);
        Assert.Empty(events);

        // Suspect, then alive again: the return is published (the false-suspicion judge counts it as a change of
        // the observer's view, the TUI shows it). Kills: "previous != Alive || moved" as "previous == Alive", as
        // "&&", negated, and the publish removed (Suspect.cs:79-81).
        Feed(cluster, from: 1, new SuspectUpdate(member.Name, incarnation + 1, "n2"));
        Assert.Equal(MemberStatus.Suspect, a.Find(member.Id)!.Status);
        Feed(cluster, from: 1, Alive(member, incarnation + 2));
        Assert.Equal(MemberStatus.Alive, a.Find(member.Id)!.Status);
        var published = Assert.Single(events);
        Assert.Contains($"Member = {member.Name}, Incarnation = {incarnation + 2}, Previous = suspect", published,
            StringComparison.Ordinal);
    }

    [Fact]
    public void A_refutation_is_published_and_raises_this_nodes_own_change()
    {
        using var cluster = Drained(4, 30);
        var a = cluster.Swim(0);
        var before = a.Self.Incarnation;
        var events = Events(cluster, "n1", "member.refute");
        var since = cluster.Observations.Count;

        Feed(cluster, from: 1, new SuspectUpdate("n1", before, "n2"));

        // Kills: the refutation's event (Suspect.cs:266) and its MemberChanged (267) removed: the node's owner
        // (the ring, the status page) would keep the old incarnation of the node itself.
        Assert.Equal(before + 1, a.Self.Incarnation);
        var published = Assert.Single(events);
        Assert.Contains($"Member = n1, Incarnation = {before + 1}, Accused = {before}", published,
            StringComparison.Ordinal);
        Assert.Contains(cluster.Observations.Skip(since),
            o => o.Observer == "n1" && o.Member.Id.Value == "n1" && o.Member.Incarnation == before + 1);
    }

    [Fact]
    public void A_stale_accusation_of_another_member_is_not_answered_with_our_own_alive()
    {
        using var cluster = Drained(4, 31);
        var a = cluster.Swim(0);
        var member = cluster.Nodes[2];
        Feed(cluster, from: 1, Alive(member, 3));
        DrainGossip(cluster);

        // Stale verdicts about another member (and about one n1 never heard of) change nothing and queue nothing:
        // only an accusation of n1 itself is answered by re-announcing n1. Kills: the three weakenings of
        // "id == Id && !_leaving && !_stopped && !_broadcasts.Contains(Id)" (Suspect.cs:278), each of which makes
        // n1 gossip itself for someone else's stale accusation.
        Feed(cluster, from: 1, new DeadUpdate(member.Name, 2, "n2"), new SuspectUpdate(member.Name, 2, "n2"),
            new SuspectUpdate("n9", 0, "n2"), new DeadUpdate("n9", 0, "n2"));
        Assert.Equal(0, a.PendingUpdates);
        Assert.Equal(MemberStatus.Alive, a.Find(member.Id)!.Status);
        Assert.Null(a.Find(new NodeId("n9")));
    }

    [Fact]
    public void A_view_of_this_node_with_other_addresses_or_metadata_is_refuted_and_so_is_a_stale_suspicion()
    {
        using var cluster = Drained(4, 32);
        var a = cluster.Swim(0);
        var before = a.Self.Incarnation;

        // Someone spreads n1 at its own incarnation but at another address: n1 corrects it with a higher
        // incarnation. Kills: the Refute of ApplyAlive removed (Suspect.cs:39).
        Feed(cluster, from: 1, new AliveUpdate("n1", before, "elsewhere", 1, "elsewhere", 2, null));
        Assert.Equal(before + 1, a.Self.Incarnation);
        Assert.Equal(cluster.Nodes[0].GossipAddress, a.Self.GossipAddress);
        DrainGossip(cluster);

        // A suspicion of an incarnation already refuted is answered by announcing the current one again. Kills:
        // ApplySuspect's ReannounceIfStale removed (Suspect.cs:110).
        Feed(cluster, from: 1, new SuspectUpdate("n1", before, "n2"));
        Assert.Equal(before + 1, a.Self.Incarnation);
        Assert.Equal(1, a.PendingUpdates);
    }

    [Fact]
    public void A_member_suspected_again_after_refuting_is_suspect_again()
    {
        using var cluster = Drained(4, 33);
        var a = cluster.Swim(0);
        var member = cluster.Nodes[2];
        var incarnation = a.Find(member.Id)!.Incarnation;

        // Suspected, refuted, then suspected at the refuted incarnation: a new suspicion. Kills: ApplyAlive's
        // CancelSuspicion removed (Suspect.cs:67): the old suspicion, still held, took the new accusation as a mere
        // confirmation, so the member stayed alive in n1's view and was never declared dead.
        Feed(cluster, from: 1, new SuspectUpdate(member.Name, incarnation, "n2"));
        Feed(cluster, from: 1, Alive(member, incarnation + 1));
        Assert.Equal(MemberStatus.Alive, a.Find(member.Id)!.Status);
        Feed(cluster, from: 1, new SuspectUpdate(member.Name, incarnation + 1, "n2"));
        Assert.Equal(MemberStatus.Suspect, a.Find(member.Id)!.Status);
    }

    [Fact]
    public void A_flood_of_new_members_stops_at_the_member_limit()
    {
        using var cluster = Drained(2, 34);
        var a = cluster.Swim(0);

        // Kills: AddMember's limit check removed (Suspect.cs:91): a peer announcing ever more ids would grow the
        // view (and the gossip queue) without bound.
        for (var batch = 0; batch * SwimCodec.UpdatesPerDatagramMax < SwimMember.MembersMax; batch++)
        {
            Feed(cluster, from: 1, [.. Enumerable.Range(0, SwimCodec.UpdatesPerDatagramMax).Select(i =>
                (MemberUpdate)new AliveUpdate($"f{batch}-{i}", 0, $"f{batch}-{i}", 1, $"f{batch}-{i}", 2, null))]);
        }

        Assert.Equal(SwimMember.MembersMax, a.Members.Count);
        Assert.NotNull(a.Find(new NodeId("n2")));
    }

    [Fact]
    public void Only_a_current_view_of_this_node_that_differs_in_any_field_is_refuted()
    {
        using var cluster = Drained(4, 35);
        var a = cluster.Swim(0);
        var self = cluster.Nodes[0];
        var before = a.Self.Incarnation;

        // Kills in SwimMember.Suspect.cs: SameAs's "&&" as "||" (306): the gossip address alone matching passed for
        // the same view, so a view with another transfer address went uncorrected.
        Feed(cluster, from: 1, new AliveUpdate("n1", before, self.GossipAddress.Host, self.GossipAddress.Port,
            "elsewhere", 2, null));
        Assert.Equal(before + 1, a.Self.Incarnation);

        // SameAs's "alive.Metadata ?? []" as "[]" (308): n1's metadata (none) was compared with nothing, so a view
        // carrying metadata n1 never published went uncorrected.
        Feed(cluster, from: 1, Alive(self, before + 1, [7]));
        Assert.Equal(before + 2, a.Self.Incarnation);

        // A different view at an incarnation n1 already left behind is stale, not worth a refutation. Kills:
        // "!_leaving && alive.Incarnation >= info.Incarnation" as "||" (37): n1 refuted every stale view too.
        Feed(cluster, from: 1, new AliveUpdate("n1", before, "elsewhere", 1, "elsewhere", 2, null));
        Assert.Equal(before + 2, a.Self.Incarnation);
        Assert.Equal(2, a.Counters.Refutations);
    }

    [Fact]
    public void A_live_member_claimed_at_another_transfer_address_alone_is_kept_as_known()
    {
        using var cluster = Drained(4, 36);
        var a = cluster.Swim(0);
        var member = cluster.Nodes[2];
        var known = a.Find(member.Id)!;

        // Kills in SwimMember.Suspect.cs: "gossip != … || transfer != …" as "&&" (47): a claim differing in the
        // transfer address only was not a move, so its higher incarnation was taken while the conflict rule keeps
        // the member we know untouched.
        Feed(cluster, from: 1, new AliveUpdate(member.Name, known.Incarnation + 9, member.GossipAddress.Host,
            member.GossipAddress.Port, "elsewhere", 2, null));
        Assert.Equal(known, a.Find(member.Id));
        Assert.Equal(0, a.PendingUpdates);
    }

    [Fact]
    public void A_dead_member_that_comes_back_at_new_addresses_is_reached_there()
    {
        using var cluster = Drained(4, 37);
        var x = cluster.Nodes[3];
        x.Crash();
        cluster.RunUntil(() => cluster.Swim(0).Find(x.Id)?.Status == MemberStatus.Dead, 60 * Second,
            "n1 to declare n4 dead");
        var a = cluster.Swim(0);
        var incarnation = a.Find(x.Id)!.Incarnation;

        // Kills in SwimMember.Suspect.cs: "moved ? Pooled(gossip) : info.GossipAddress" as always the old address
        // (72), and the same for the transfer address (73): a member restarted elsewhere stayed at its old
        // addresses, probed and gossiped where no one listens.
        Feed(cluster, from: 1, new AliveUpdate(x.Name, incarnation + 1, "elsewhere", 1, "elsewhere", 2, null));
        var back = a.Find(x.Id)!;
        Assert.Equal(MemberStatus.Alive, back.Status);
        Assert.Equal(new NetAddress("elsewhere", 1), back.GossipAddress);
        Assert.Equal(new NetAddress("elsewhere", 2), back.TransferAddress);
    }

    [Fact]
    public void A_suspect_member_accused_at_a_newer_incarnation_is_suspected_anew_at_it()
    {
        using var cluster = Drained(4, 38);
        var a = cluster.Swim(0);
        var member = cluster.Nodes[2];
        var incarnation = a.Find(member.Id)!.Incarnation;

        // n3 refuted the suspicion n1 holds (n1 missed the refutation) and is accused again at the new incarnation.
        // Kills in SwimMember.Suspect.cs: "suspect.Incarnation > entry.Info.Incarnation" as "<" (121): the new
        // accusation only confirmed the old suspicion, at the old incarnation, whose expiry then declared dead an
        // incarnation n3 had already refuted.
        Feed(cluster, from: 1, new SuspectUpdate(member.Name, incarnation, "n2"));
        Feed(cluster, from: 1, new SuspectUpdate(member.Name, incarnation + 1, "n4"));
        var suspect = a.Find(member.Id)!;
        Assert.Equal(MemberStatus.Suspect, suspect.Status);
        Assert.Equal(incarnation + 1, suspect.Incarnation);
    }

    [Fact]
    public void A_death_is_published_as_dead_and_a_leave_as_left()
    {
        using var cluster = Drained(4, 39);
        var dead = Events(cluster, "n1", "member.dead");
        var left = Events(cluster, "n1", "member.left");
        var a = cluster.Swim(0);

        // Kills in SwimMember.Suspect.cs: the event's "left ? MemberLeftEvent : MemberDeadEvent" made always one
        // (239): the scenario checks and the false-suspicion judge read member.dead, a leave must not count.
        Feed(cluster, from: 1, new DeadUpdate("n3", a.Find(new NodeId("n3"))!.Incarnation, "n2"));
        Feed(cluster, from: 1, new DeadUpdate("n4", a.Find(new NodeId("n4"))!.Incarnation, "n4"));
        Assert.Contains("Member = n3", Assert.Single(dead), StringComparison.Ordinal);
        Assert.Contains("Member = n4", Assert.Single(left), StringComparison.Ordinal);
    }

    [Fact]
    public void A_datagram_without_an_update_list_is_still_handled()
    {
        using var cluster = Drained(4, 40);
        var a = cluster.Swim(0);
        var acked = new List<long>();
        cluster.Sim.Network.Tap = (from, _, payload) =>
        {
            if (from == cluster.Nodes[0] && SwimCodec.TryDecodeDatagram(payload, out string? _) is
                { Message: SwimAck ack })
            {
                acked.Add(ack.Sequence);
            }
        };

        // The codec accepts a nil update list (older senders, or anyone). Kills in SwimMember.Datagrams.cs:
        // "datagram.Updates ?? []" as "datagram.Updates" (31): HandleDatagram, which must never throw, threw
        // NullReferenceException in the node's receive path instead of answering the ping.
        var bytes = SwimCodec.Magic.ToArray().Concat(MessagePack.MessagePackSerializer.Serialize(
            new SwimDatagram(new SwimPing(77, "n1", "n2"), null), SwimCodec.Wire)).ToArray();
        Assert.NotNull(SwimCodec.TryDecodeDatagram(bytes, out _));
        Deliver(cluster, from: 1, bytes);
        cluster.Sim.RunFor(Second);
        Assert.Contains(77, acked);
        Assert.Equal(0, a.Counters.Malformed);
    }

    [Fact]
    public void A_flood_of_ping_requests_is_relayed_up_to_the_limit_and_leaves_room_for_the_nodes_own_probes()
    {
        using var cluster = Drained(4, 41);
        var relayed = new List<long>();
        var probes = 0;
        cluster.Sim.Network.Tap = (from, _, payload) =>
        {
            if (from == cluster.Nodes[0] && SwimCodec.TryDecodeDatagram(payload, out string? _) is
                { Message: SwimPing ping })
            {
                if (ping.Target == "p")
                {
                    relayed.Add(cluster.Sim.Now);
                }
                else
                {
                    probes++;
                }
            }
        };

        // Ping-reqs for "p" at n4's address (n4 ignores a ping for another id, so none is acked and every relay's
        // handler stays for the probe timeout, 0.5 s), more than the limit every 0.4 s for 2 s: the table stays
        // full across at least one of n1's own probe rounds (1 s apart).
        // A bug found here (tenth session): the relays took every handler, and n1's next probe round threw
        // "too many outstanding acks" (an invariant violation in a timer: its failure detection stopped). Relays
        // now leave one handler free. Kills in SwimMember.Datagrams.cs: the overload check's ">=" as ">" (138) and
        // its return removed (140).
        var x = cluster.Nodes[3].GossipAddress;
        var sender = cluster.Nodes[1].GossipAddress;
        var start = cluster.Sim.Now;
        for (var flood = 0; flood < 5; flood++)
        {
            cluster.Sim.Await(cluster.Nodes[0].Spawn(_ =>
            {
                for (var i = 0; i < SwimMember.AckHandlersMax + 10; i++)
                {
                    cluster.Swim(0).HandleDatagram(sender, SwimCodec.AssembleDatagram(
                        SwimCodec.EncodeMessage(new SwimPingRequest(i, "p", x.Host, x.Port, WantNack: false)), []));
                }

                return Task.CompletedTask;
            }), "n1 to take the flood");
            cluster.Sim.RunFor(Second * 2 / 5);
        }

        cluster.Sim.RunFor(Second);
        Assert.InRange(relayed.Count(t => t == start), SwimMember.AckHandlersMax - 2, SwimMember.AckHandlersMax - 1);
        Assert.All(relayed.GroupBy(t => t), flood => Assert.InRange(flood.Count(), 1, SwimMember.AckHandlersMax - 1));
        Assert.InRange(probes, 2, 4);
    }

    [Fact]
    public void Queued_news_is_gossiped_within_a_gossip_interval_to_gossip_nodes_members_per_round()
    {
        var options = new SwimOptions { RetransmitMultiplier = 8 };
        using var cluster = Drained(4, 42, options);
        var gossip = new List<(long At, NetAddress To)>();
        cluster.Sim.Network.Tap = (from, to, payload) =>
        {
            if (from == cluster.Nodes[0] && SwimCodec.TryDecodeDatagram(payload, out string? _) is
                { Message: null })
            {
                gossip.Add((cluster.Sim.Now, to));
            }
        };

        // Three updates queued a millisecond apart, while n1's gossip rounds sleep and then run.
        var queuedAt = cluster.Sim.Now;
        var a = cluster.Swim(0);
        for (var i = 1; i <= 3; i++)
        {
            var member = cluster.Nodes[i];
            Feed(cluster, from: 1, Alive(member, a.Find(member.Id)!.Incarnation + 1));
            cluster.Sim.RunFor(Second / 1000);
        }

        cluster.Sim.RunFor(2 * Second);

        // Kills in SwimMember.Gossip.cs: Gossip's "Count == 0" as "!= 0" (61), the target filter's "||" as "&&"
        // (67) and the send removed (72): a gossip round sent nothing, the news rode on probes alone. WakeGossip's
        // "(late + interval - 1)" as "+ 1" (54): the rounds woke an interval late.
        Assert.NotEmpty(gossip);
        Assert.InRange(gossip[0].At, queuedAt, queuedAt + options.GossipIntervalMicroseconds);
        Assert.Equal(3, gossip.Select(g => g.To).Distinct().Count());

        // WakeGossip's early return removed (48): each update queued while the rounds ran started another chain of
        // rounds on the same phase, so one instant sent twice or thrice GossipNodes datagrams.
        Assert.All(gossip.GroupBy(g => g.At), round => Assert.InRange(round.Count(), 1, options.GossipNodes));
    }

    private static SwimCluster Drained(int nodes, ulong seed, SwimOptions? options = null,
        NetworkFaults? network = null)
    {
        var cluster = SwimCluster.Create(nodes, seed, options, network);
        cluster.RunUntilConverged(20 * Second);
        DrainGossip(cluster);
        return cluster;
    }

    /// <summary>Runs until no running member has an update left to gossip.</summary>
    private static void DrainGossip(SwimCluster cluster) =>
        cluster.RunUntil(() => cluster.Running.All(n => cluster.Swim(n).PendingUpdates == 0), 30 * Second,
            "every member's pending gossip to be sent out");

    private static void Leave(SwimCluster cluster, SimNode node)
    {
        cluster.Sim.Await(node.Spawn(_ => cluster.Swim(node).LeaveAsync()), $"{node.Name} to leave");
        cluster.RunUntil(() => cluster.AllSee(node, MemberStatus.Left), 10 * Second, $"every member to see {node.Name} left");
        DrainGossip(cluster);
    }

    private static AliveUpdate Alive(SimNode node, long incarnation, byte[]? metadata = null) =>
        new(node.Name, incarnation, node.GossipAddress.Host, node.GossipAddress.Port, node.TransferAddress.Host,
            node.TransferAddress.Port, metadata);

    /// <summary>Hands n1 one datagram carrying <paramref name="updates"/>, as if node <paramref name="from"/> sent it.</summary>
    private static void Feed(SwimCluster cluster, int from, params MemberUpdate[] updates) =>
        Deliver(cluster, from, SwimCodec.AssembleDatagram(null, updates.Select(SwimCodec.EncodeUpdate).ToList()));

    /// <summary>Hands n1 one datagram carrying <paramref name="message"/>, as if node <paramref name="from"/> sent
    /// it.</summary>
    private static void Deliver(SwimCluster cluster, int from, SwimMessage message) =>
        Deliver(cluster, from, SwimCodec.AssembleDatagram(SwimCodec.EncodeMessage(message), []));

    private static void Deliver(SwimCluster cluster, int from, byte[] bytes)
    {
        var target = cluster.Nodes[0];
        var sender = cluster.Nodes[from].GossipAddress;
        cluster.Sim.Await(target.Spawn(_ =>
        {
            cluster.Swim(target).HandleDatagram(sender, bytes);
            return Task.CompletedTask;
        }), "n1 to handle the crafted datagram");
    }

    /// <summary>The protocol events of <paramref name="kind"/> that <paramref name="node"/> publishes from now on.</summary>
    private static List<string> Events(SwimCluster cluster, string node, string kind)
    {
        var events = new List<string>();
        cluster.Sim.Trace.Recorded += record =>
        {
            if (record.Kind == TraceKind.Protocol && record.Node == node
                && record.Detail?.StartsWith(kind + " ", StringComparison.Ordinal) == true)
            {
                events.Add(record.Detail);
            }
        };
        return events;
    }

    /// <summary>Every update <paramref name="node"/> sends from now on, decoded off the network's tap.</summary>
    private static List<MemberUpdate> Capture(SwimCluster cluster, SimNode node)
    {
        var updates = new List<MemberUpdate>();
        cluster.Sim.Network.Tap = (from, _, payload) =>
        {
            if (from == node && SwimCodec.TryDecodeDatagram(payload, out string? _) is { Updates: { } carried })
            {
                updates.AddRange(carried);
            }
        };
        return updates;
    }
}
