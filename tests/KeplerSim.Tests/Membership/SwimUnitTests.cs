using KeplerSim.Core;
using KeplerSim.Core.Membership;
using KeplerSim.Core.Runtime;
using KeplerSim.Tests.Sim;

namespace KeplerSim.Tests.Membership;

[Trait("Category", "Fast")]
public sealed class SwimUnitTests
{
    private const long Second = SimHarness.Second;

    [Fact]
    public void Suspicion_timeout_shrinks_from_max_to_min_with_confirmations()
    {
        // memberlist suspicion_test.go: k = 3, min 2 s, max 30 s.
        Assert.Equal(30 * Second, Suspicion.TimeoutFor(0, 3, 2 * Second, 30 * Second));
        Assert.Equal(16 * Second, Suspicion.TimeoutFor(1, 3, 2 * Second, 30 * Second));
        Assert.InRange(Suspicion.TimeoutFor(2, 3, 2 * Second, 30 * Second), 7_800_000, 7_900_000);
        Assert.Equal(2 * Second, Suspicion.TimeoutFor(3, 3, 2 * Second, 30 * Second));
        Assert.Equal(2 * Second, Suspicion.TimeoutFor(5, 3, 2 * Second, 30 * Second));
        Assert.Equal(2 * Second, Suspicion.TimeoutFor(0, 0, 2 * Second, 30 * Second));
    }

    [Fact]
    public void Suspicion_fires_at_min_once_enough_members_confirm()
    {
        var (sim, node) = SimHarness.OneIdleNode(1);
        using (sim)
        {
            long? firedAt = null;
            Suspicion? suspicion = null;
            sim.Await(node.Spawn(runtime =>
            {
                suspicion = new Suspicion(runtime.Clock, new NodeId("a"), 2, 4 * Second, 24 * Second,
                    () => firedAt = sim.Now);
                return Task.CompletedTask;
            }), "the suspicion to start");
            sim.RunFor(Second);
            sim.Await(node.Spawn(_ =>
            {
                Assert.False(suspicion!.Confirm(new NodeId("a")), "the first suspecter does not confirm");
                Assert.True(suspicion.Confirm(new NodeId("b")));
                Assert.True(suspicion.Confirm(new NodeId("c")));
                Assert.False(suspicion.Confirm(new NodeId("d")), "beyond k confirmations nothing changes");
                return Task.CompletedTask;
            }), "the confirmations");
            sim.RunFor(10 * Second);
            Assert.Equal(4 * Second, firedAt);
        }
    }

    [Fact]
    public void Suspicion_with_one_expected_confirmation_waits_the_maximum_until_it_comes()
    {
        // Kills in Suspicion.cs: TimeoutFor's "expected < 1" as "<= 1" (66): with k = 1 the formula gives max at
        // c = 0 and min at c = 1 (log 1 / log 2 = 0, log 2 / log 2 = 1), not min at once.
        Assert.Equal(30 * Second, Suspicion.TimeoutFor(0, 1, 2 * Second, 30 * Second));
        Assert.Equal(2 * Second, Suspicion.TimeoutFor(1, 1, 2 * Second, 30 * Second));
    }

    [Theory]
    [InlineData(0, 4)]
    [InlineData(1, 24)]
    [InlineData(2, 24)]
    public void An_unconfirmed_suspicion_fires_at_the_maximum_unless_no_confirmation_is_expected(int expected,
        long firesAtSeconds)
    {
        // Kills in Suspicion.cs: the constructor's first timer "_expected < 1 ? min : max" (35) as always min, always
        // max, "_expected > 1" and "_expected <= 1": a suspicion nobody confirms must run to max when k >= 1 (a
        // 4-node cluster declared a member dead at min, 6 times sooner), and to min when k = 0.
        var fired = Run(expected, confirmAfter: null, cancelAfter: null);
        Assert.Equal([firesAtSeconds * Second], fired);
    }

    [Fact]
    public void A_confirmed_suspicion_fires_once_at_its_shortened_timeout_and_a_cancelled_one_never()
    {
        // Kills in Suspicion.cs: Schedule's "_timer?.Dispose()" removed (78): the timer at max still fired after
        // the confirmation's shorter one, so the timeout ran twice (at 11.4 s and 24 s); Cancel's Dispose removed
        // (59): a cancelled suspicion still fired. (SwimMember's SuspicionExpired re-checks the member's status
        // and incarnation, so there each slip is caught a second time; the class promises it on its own.)
        var shortened = Suspicion.TimeoutFor(1, 2, 4 * Second, 24 * Second);
        Assert.InRange(shortened, 11 * Second, 12 * Second); // 24 s − 20 s · log 2 / log 3
        Assert.Equal([shortened], Run(expected: 2, confirmAfter: Second, cancelAfter: null));
        Assert.Empty(Run(expected: 2, confirmAfter: null, cancelAfter: Second));
    }

    [Fact]
    public void A_suspicion_needs_a_positive_minimum_and_a_maximum_not_below_it()
    {
        // Kills in Suspicion.cs: the two invariants removed or moved by one (24-25): a zero minimum fired at once
        // (k = 0), a maximum below the minimum made the timeout grow with confirmations. Both bounds come from
        // validated options (SwimOptions: multipliers >= 1, probe interval > 0), so only a direct call reaches them.
        Assert.Equal([Second], Run(expected: 0, confirmAfter: null, cancelAfter: null, min: Second, max: Second));
        var clock = new Manifests.HybridLogicalClockTests.FakeClock(0); // Never schedules: the checks come first.
        var zero = Assert.Throws<InvariantViolationException>(() =>
            new Suspicion(clock, new NodeId("a"), 0, 0, Second, () => { }));
        Assert.Contains("min must be positive", zero.Message, StringComparison.Ordinal);
        var inverted = Assert.Throws<InvariantViolationException>(() =>
            new Suspicion(clock, new NodeId("a"), 0, 2 * Second, Second, () => { }));
        Assert.Contains("max must be >= min", inverted.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1, 1000)]
    [InlineData(5, 1000)]
    [InlineData(10, 1000)]
    [InlineData(50, 1698)]
    [InlineData(100, 2000)]
    [InlineData(500, 2698)]
    [InlineData(1000, 3000)]
    public void Suspicion_minimum_scales_with_the_log_of_the_cluster_size_as_memberlist(int n, long perMultiple)
    {
        // memberlist util_test.go TestSuspicionTimeout: suspicionTimeout(3, n, 1 s) / 3 for n = 5 … 1000. Kills in
        // SwimMember.Suspect.cs: Math.Max as Math.Min in the node scale (187: every cluster above 10 got the
        // 10-node timeout) and "mult * scale" as "mult / scale" (188).
        using var cluster = SwimCluster.Create(1, 41, new SwimOptions { SuspicionMultiplier = 3 });
        var swim = cluster.Swim(0);
        // memberlist truncates the scale to milliseconds first: ours is up to 3 ms longer.
        Assert.InRange(swim.SuspicionMinMicroseconds(n), (3 * perMultiple * 1000) - 1, (3 * perMultiple * 1000) + 3000);
    }

    [Theory]
    [InlineData(4, 1, 0)]
    [InlineData(4, 2, 0)]
    [InlineData(4, 3, 1)]
    [InlineData(4, 4, 2)]
    [InlineData(4, 50, 2)]
    [InlineData(6, 5, 3)]
    [InlineData(6, 50, 4)]
    [InlineData(1, 50, 0)]
    public void Suspicion_expects_mult_minus_two_confirmations_at_most_the_other_members(int multiplier, int n,
        int expected)
    {
        // Lifeguard's k = mult − 2, clamped to the n − 2 members that can confirm. Kills in SwimMember.Suspect.cs
        // (178): "mult - 2" as "mult + 2", "n - 2" as "n + 2" and Math.Max as Math.Min (k always 0, or an
        // ArgumentException below two members).
        using var cluster = SwimCluster.Create(1, 42, new SwimOptions { SuspicionMultiplier = multiplier });
        Assert.Equal(expected, cluster.Swim(0).SuspicionConfirmationsExpected(n));
    }

    [Fact]
    public void Broadcast_queue_sends_the_newest_update_first_among_equally_sent_ones()
    {
        // memberlist's TransmitLimitedQueue order. Kills in BroadcastQueue.cs: "_nextId++" as "_nextId--" (35):
        // the oldest went first, so the news of a refutation queued last waited behind every older update.
        var queue = new BroadcastQueue();
        queue.Enqueue(new NodeId("a"), [1]);
        queue.Enqueue(new NodeId("b"), [2]);
        queue.Enqueue(new NodeId("c"), [3]);
        Assert.Equal([[3]], queue.Take(100, 1, retransmitLimit: 9));
        Assert.Equal([[2]], queue.Take(100, 1, retransmitLimit: 9));
    }

    /// <summary>
    /// Runs one suspicion (min 4 s, max 24 s unless given) for 60 s; confirms it from a second member or cancels it
    /// at the given times; returns when its timeout fired.
    /// </summary>
    private static List<long> Run(int expected, long? confirmAfter, long? cancelAfter, long min = 4 * Second,
        long max = 24 * Second)
    {
        var (sim, node) = SimHarness.OneIdleNode(3);
        using (sim)
        {
            var fired = new List<long>();
            Suspicion? suspicion = null;
            sim.Await(node.Spawn(runtime =>
            {
                suspicion = new Suspicion(runtime.Clock, new NodeId("a"), expected, min, max, () => fired.Add(sim.Now));
                return Task.CompletedTask;
            }), "the suspicion to start");
            var start = sim.Now;
            if (confirmAfter is { } confirm)
            {
                sim.RunFor(confirm);
                sim.Await(node.Spawn(_ =>
                {
                    Assert.True(suspicion!.Confirm(new NodeId("b")));
                    return Task.CompletedTask;
                }), "the confirmation");
            }

            if (cancelAfter is { } cancel)
            {
                sim.RunFor(cancel);
                sim.Await(node.Spawn(_ =>
                {
                    suspicion!.Cancel();
                    return Task.CompletedTask;
                }), "the cancel");
            }

            sim.RunFor(60 * Second);
            return fired.ConvertAll(t => t - start);
        }
    }

    [Fact]
    public void Broadcast_queue_replaces_per_member_sends_fewest_first_and_retires_after_the_limit()
    {
        var queue = new BroadcastQueue();
        var sent = 0;
        queue.Enqueue(new NodeId("a"), [1, 1], () => sent++);
        queue.Enqueue(new NodeId("b"), [2, 2, 2]);
        queue.Enqueue(new NodeId("a"), [3]);
        Assert.Equal(1, sent);
        Assert.Equal(2, queue.Count);

        // Newest first among equals; the budget is respected and a too-large update is skipped, not blocking.
        Assert.Equal([[3]], queue.Take(2, 10, retransmitLimit: 2));
        Assert.Equal([[2, 2, 2]], queue.Take(3, 10, retransmitLimit: 2));
        var both = queue.Take(100, 10, retransmitLimit: 2);
        Assert.Equal(2, both.Count);
        Assert.Equal(0, queue.Count);
        Assert.Empty(queue.Take(100, 10, retransmitLimit: 2));
    }

    [Fact]
    public void Broadcast_queue_takes_at_most_the_count_asked_for_and_clear_forgets_everything()
    {
        var queue = new BroadcastQueue();
        for (var i = 0; i < 5; i++)
        {
            queue.Enqueue(new NodeId($"m{i}"), [(byte)i]);
        }

        // Kills: Take's break removed (BroadcastQueue.cs:54): the budget still had room, the count did not.
        Assert.Equal(2, queue.Take(100, 2, retransmitLimit: 9).Count);
        Assert.Single(queue.Take(100, 1, retransmitLimit: 9));

        // Kills: either half of Clear removed (85-86): the count, or what Take still hands out.
        queue.Clear();
        Assert.Equal(0, queue.Count);
        Assert.Empty(queue.Take(100, 10, retransmitLimit: 9));
        Assert.False(queue.Contains(new NodeId("m0")));
    }

    [Fact]
    public void Awareness_is_clamped_and_scales_timeouts()
    {
        var awareness = new Awareness(8);
        awareness.ApplyDelta(-1);
        Assert.Equal(0, awareness.Score);
        awareness.ApplyDelta(20);
        Assert.Equal(7, awareness.Score);
        Assert.Equal(8 * Second, awareness.Scale(Second));
    }
}
