using KeplerSim.Sim.Kernel;

namespace KeplerSim.Tests.Sim;

/// <summary>
/// The simulator runs pure work as the real node does (docs/ARCHITECTURE.md, the seam): off the node's loop. Its
/// task completes a seeded delay after the work is handed over, the node's other events run in between, and the
/// work reads its inputs when it runs, at the end of the delay.
/// </summary>
[Trait("Category", "Fast")]
public sealed class SimPureWorkTests
{
    [Fact]
    public void Pure_work_completes_later_while_the_nodes_other_events_run_and_reads_its_input_when_it_runs()
    {
        var (sim, node) = SimHarness.OneIdleNode(5);
        using var _ = sim;
        var input = new[] { 1 };
        var order = new List<string>();
        var (work, handedAt) = sim.Await(node.Spawn(runtime =>
        {
            var task = runtime.PureWork.RunAsync(() =>
            {
                order.Add("work");
                return input[0];
            });
            Assert.False(task.IsCompleted, "pure work does not complete inline");
            runtime.Clock.Schedule(0, () => order.Add("timer"));
            input[0] = 2; // What a caller must not do: the work sees it, as a pool thread could.
            return Task.FromResult((task, sim.Now));
        }), "pure work handed over");

        Assert.Equal(2, sim.Await(work, "the pure work"));
        Assert.Equal(["timer", "work"], order);
        Assert.InRange(sim.Now - handedAt, SimPureWork.DelayMinMicroseconds, SimPureWork.DelayMaxMicroseconds);
    }

    [Fact]
    public void Pure_work_delays_are_seeded_and_vary()
    {
        static List<long> Delays(ulong seed)
        {
            var (sim, node) = SimHarness.OneIdleNode(seed);
            using var _ = sim;
            var delays = new List<long>();
            for (var i = 0; i < 20; i++)
            {
                var start = sim.Now;
                sim.Await(node.Spawn(runtime => runtime.PureWork.RunAsync(() => 0)), "pure work");
                delays.Add(sim.Now - start);
            }

            return delays;
        }

        Assert.Equal(Delays(7), Delays(7));
        Assert.NotEqual(Delays(7), Delays(8));
        Assert.True(Delays(7).Distinct().Count() > 10, "delays drawn, not fixed");
    }

    [Fact]
    public void A_crash_drops_pending_pure_work_with_the_nodes_other_events()
    {
        var (sim, node) = SimHarness.OneIdleNode(9);
        using var _ = sim;
        var ran = false;
        var task = sim.Await(node.Spawn(runtime =>
            Task.FromResult(runtime.PureWork.RunAsync(() => ran = true))), "pure work handed over");
        node.Crash();
        sim.RunFor(SimHarness.Second);
        Assert.False(ran, "the work of a crashed incarnation never runs");
        Assert.False(task.IsCompleted);
    }
}
