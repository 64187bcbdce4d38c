using System.Globalization;
using System.Reactive.Concurrency;
using KeplerSim.Sim.Scenarios;
using KeplerSim.Tui.Sources;
using KeplerSim.Tui.ViewModel;

namespace KeplerSim.Tui.Tests;

/// <summary>
/// A live simulation's members view: "last heard" is when a running peer last heard from the node (the freshest
/// SWIM record, in virtual time), so a node that stopped keeps the time it fell silent while live ones stay
/// current. Before, it was the last event that named the node, which a stopped node's departure keeps refreshing.
/// </summary>
[Trait("Category", "Fast")]
public sealed class SimulationLastHeardTests
{
    [Fact]
    public void A_stopped_node_keeps_the_time_it_fell_silent_while_running_ones_stay_current()
    {
        var scenario = ScenarioLoader.LoadFile(Repo.Scenario("fast/node-failure.yaml"));   // n3 stops at 5 s
        using var engine = new SimulationEngine(scenario, scenario.Seed);
        using var vm = new MonitorViewModel(engine, ImmediateScheduler.Instance);
        vm.Start();
        while (engine.Live.Simulation.Now < 7_000_000)
        {
            engine.Advance(500_000);
        }

        double Heard(string id) => double.Parse(vm.State.Members.Single(m => m.Id == id).LastHeard.TrimEnd('s'),
            CultureInfo.InvariantCulture);
        var now = engine.Live.Simulation.Now / 1e6;
        Assert.InRange(Heard("n3"), 4.0, 5.1);
        Assert.All(new[] { "n1", "n2", "n4", "n5" }, id => Assert.InRange(Heard(id), now - 2, now));
    }
}
