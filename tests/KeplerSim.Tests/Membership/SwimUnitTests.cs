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
