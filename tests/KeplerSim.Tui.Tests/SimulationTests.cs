using System.Reactive.Concurrency;
using System.Reactive.Linq;
using System.Reactive.Threading.Tasks;
using KeplerSim.Sim.Kernel;
using KeplerSim.Sim.Scenarios;
using KeplerSim.Tui.Model;
using KeplerSim.Tui.Sources;
using KeplerSim.Tui.ViewModel;
using Terminal.Gui.Input;

namespace KeplerSim.Tui.Tests;

/// <summary>Live simulations through the view model, checked against the simulator's ground truth.</summary>
[Trait("Category", "Fast")]
public sealed class SimulationTests
{
    private static SimulationEngine Engine(string file) =>
        new(ScenarioLoader.LoadFile(Repo.Scenario(file)), ScenarioLoader.LoadFile(Repo.Scenario(file)).Seed);

    private static void RunTo(SimulationEngine engine, long microseconds)
    {
        while (engine.Live.Simulation.Now < microseconds)
        {
            engine.Advance(Math.Min(500_000, microseconds - engine.Live.Simulation.Now));
        }
    }

    /// <summary>The SWIM states the engine reports, folded as the view folds them.</summary>
    private static EventFold Watch(SimulationEngine engine)
    {
        var fold = new EventFold();
        engine.Events.Subscribe(fold.Apply);
        return fold;
    }

    /// <summary>
    /// Every member row agrees with the simulation: same nodes, health from the kernel's truth, and state from
    /// SWIM's view once a SWIM event named the member (scenarios run SWIM: a node just crashed is still alive to
    /// its peers until they declare it dead), else from the kernel.
    /// </summary>
    private static void AssertMatchesGroundTruth(MonitorViewModel vm, SimulationEngine engine, EventFold swim)
    {
        var sim = engine.Live.Simulation;
        var context = engine.Live.Context;
        Assert.Equal(sim.Nodes.Select(n => n.Name).Order(StringComparer.Ordinal), vm.State.Members.Select(m => m.Id));
        foreach (var node in sim.Nodes)
        {
            var row = vm.State.Members.Single(m => m.Id == node.Name);
            var truth = GroundTruth.Truth(node, context);
            Assert.StartsWith(truth, row.Health, StringComparison.Ordinal);
            var expected = swim.Swim(node.Name)?.State ?? node.State switch
            {
                SimNodeState.Running => MemberState.Alive,
                SimNodeState.Paused => MemberState.Paused,
                _ when context.Stopped.Contains(node.Name) => MemberState.Left,
                _ => MemberState.Down,
            };
            Assert.True(expected == row.State, $"{node.Name}: view says {row.State}, kernel says {truth}");
            var cut = sim.Nodes.Any(o => o != node
                && (sim.Network.IsBlocked(node, o) || sim.Network.IsBlocked(o, node)));
            Assert.Equal(cut, row.Health.Contains(", " + GroundTruth.CutOff, StringComparison.Ordinal));
        }

        Assert.Equal(sim.Now, vm.State.TimeMicroseconds);
        var shares = context.ExpectedRing().Shares();
        Assert.All(vm.State.Ring, r => Assert.Equal(shares.GetValueOrDefault(new(r.Id)), r.Share));
        Assert.All(vm.State.Replication.QueueDepths, q =>
            Assert.Equal(Sim.Invariants.ClusterInspector.QueueDepth(sim.FindNode(q.Node)!), q.Depth));
    }

    [Fact]
    public void Members_view_follows_the_simulators_ground_truth_through_a_stop_and_injected_faults()
    {
        using var engine = Engine("fast/node-failure.yaml");          // n3 stops for good at 5 s
        var swim = Watch(engine);
        using var vm = new MonitorViewModel(engine, ImmediateScheduler.Instance);
        vm.Start();
        Assert.All(vm.State.Members, m => Assert.Equal("running", m.Health));
        RunTo(engine, 2_000_000);
        AssertMatchesGroundTruth(vm, engine, swim);
        Assert.True(vm.State.Replication.FileCount > 0, "the workload wrote files by 2 s");

        RunTo(engine, 5_500_000);
        AssertMatchesGroundTruth(vm, engine, swim);
        Assert.Equal(MemberState.Left, vm.State.Members.Single(m => m.Id == "n3").State);

        vm.Send(CommandKind.Crash);                                    // n1 is selected
        AssertMatchesGroundTruth(vm, engine, swim);
        Assert.Equal(SimNodeState.Down, engine.Live.Simulation.FindNode("n1")!.State);
        vm.Select(1);
        vm.Send(CommandKind.Isolate);                                  // n2 cut off from everyone
        engine.Advance(300_000);
        AssertMatchesGroundTruth(vm, engine, swim);
        Assert.Equal("n1,n3,n4,n5 | n2", vm.State.Partition);
        vm.Select(-1);
        vm.Send(CommandKind.Restart);
        vm.Send(CommandKind.Heal);
        engine.Advance(300_000);
        AssertMatchesGroundTruth(vm, engine, swim);
        Assert.Null(vm.State.Partition);
        Assert.Contains(vm.Log, e => e.Kind == "node.crashed" && e.Node == "n1");
        Assert.Contains(vm.Log, e => e.Kind == "step" && e.Text == "tui: isolate n2");
    }

    [Fact]
    public void Split_brain_paused_after_the_partition_shows_both_sides_on_screen()
    {
        using var engine = Engine("fast/split-brain.yaml");            // partition at 3 s
        var swim = Watch(engine);
        using var tui = new Headless(engine);
        tui.Type("..........");                                       // ten steps of 100 ms
        Assert.Equal(1_000_000, engine.Live.Simulation.Now);
        RunTo(engine, 4_500_000);
        tui.Key(new Key('1'));
        var screen = tui.Screen();
        Assert.Contains("PARTITION n1,n2 | n3,n4,n5", screen);
        Assert.Contains("PAUSED", screen);
        Assert.Contains("running, cut from n1,n2", tui.LineWith("│n4 "));
        AssertMatchesGroundTruth(tui.ViewModel, engine, swim);
        tui.Key(new Key('h'));
        Assert.DoesNotContain("PARTITION", tui.Screen());
        Assert.False(engine.Live.Simulation.Network.IsPartitioned);
    }

    [Fact]
    public void Crash_key_on_the_selected_node_shows_it_down()
    {
        using var engine = Engine("fast/split-brain.yaml");
        var swim = Watch(engine);
        using var tui = new Headless(engine);
        tui.Key(Key.CursorDown);
        tui.Key(Key.CursorDown);                                   // n3
        tui.Key(new Key('c'));
        Assert.Equal(SimNodeState.Down, engine.Live.Simulation.FindNode("n3")!.State);
        Assert.Contains("down", tui.LineWith("│n3 "));
        tui.Key(new Key('r'));
        Assert.Contains("running", tui.LineWith("│n3 "));
        AssertMatchesGroundTruth(tui.ViewModel, engine, swim);
    }

    [Fact]
    public async Task Host_runs_the_simulation_on_its_own_thread_and_steps_on_command()
    {
        var scenario = ScenarioLoader.LoadFile(Repo.Scenario("fast/split-brain.yaml"));
        using var host = new SimulationHost(() => new SimulationEngine(scenario, scenario.Seed));
        var first = host.States.FirstAsync().ToTask();
        var stepped = host.States.FirstAsync(s => s.TimeMicroseconds == SimulationEngine.StepMicroseconds).ToTask();
        host.Start();
        var initial = await first.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(PlayState.Paused, initial.Play);
        Assert.Equal(5, initial.Members.Count);
        host.Send(new SourceCommand(CommandKind.Step));
        var after = await stepped.WaitAsync(TimeSpan.FromSeconds(60));  // bounded: the step's state arrives
        Assert.Equal(PlayState.Paused, after.Play);
    }

    [Fact]
    public async Task Host_reports_a_simulation_that_cannot_start()
    {
        using var host = new SimulationHost(() => throw new InvalidOperationException("no such protocol"));
        var state = host.States.FirstAsync().ToTask();
        host.Start();
        Assert.Equal("cannot start: no such protocol", (await state.WaitAsync(TimeSpan.FromSeconds(30))).Status);
    }

    [Theory]
    [InlineData("fast/split-brain.yaml")]
    [InlineData("fast/node-failure.yaml")]
    public void Watching_does_not_change_the_run(string file)
    {
        // The monitor reads every disk and metadata database after each slice; the run must not notice: the
        // trace is the same as one advanced in a single slice with nobody looking.
        const long until = 8_000_000;
        using var watched = Engine(file);
        using var vm = new MonitorViewModel(watched, ImmediateScheduler.Instance);
        vm.Start();
        while (watched.Live.Simulation.Now < until)
        {
            watched.Advance(Math.Min(137_000, until - watched.Live.Simulation.Now));
        }

        var scenario = ScenarioLoader.LoadFile(Repo.Scenario(file));
        using var alone = new LiveScenario(scenario, scenario.Seed);
        alone.Advance(until);
        Assert.True(vm.State.Replication.FileCount > 0, "the monitor did read the metadata");
        Assert.Equal(alone.Simulation.Trace.Count, watched.Live.Simulation.Trace.Count);
        Assert.Equal(alone.Simulation.Trace.Hash, watched.Live.Simulation.Trace.Hash);
    }
}
