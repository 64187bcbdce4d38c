using KeplerSim.Sim.Invariants;
using KeplerSim.Sim.Kernel;

namespace KeplerSim.Sim.Scenarios;

/// <summary>
/// A scenario run driven from outside a slice of virtual time at a time (the TUI's live simulation), with
/// faults injected by hand. Like the simulation itself it is single threaded: create it and call every member on
/// one thread.
/// </summary>
public sealed class LiveScenario : IDisposable
{
    private readonly ScenarioRun _run;

    /// <summary>Prepares <paramref name="scenario"/> with <paramref name="seed"/>; nothing runs yet.</summary>
    public LiveScenario(Scenario scenario, ulong seed, Stream? traceJsonLines = null)
    {
        ArgumentNullException.ThrowIfNull(scenario);
        Scenario = scenario;
        Seed = seed;
        _run = new ScenarioRun(scenario, seed, traceJsonLines);
    }

    /// <summary>The scenario.</summary>
    public Scenario Scenario { get; }

    /// <summary>The root seed.</summary>
    public ulong Seed { get; }

    /// <summary>The simulation (ground truth: nodes, network, trace).</summary>
    public Simulation Simulation => _run.Simulation;

    /// <summary>The checkers' view: members, nodes stopped for good, the chunk inspector, the expected ring.</summary>
    public CheckContext Context => _run.Context;

    /// <summary>The scenario's duration; after it every fault is healed and the run goes on.</summary>
    public long DurationMicroseconds => Scenario.Duration.Microseconds;

    /// <summary>
    /// Adds the nodes, schedules steps and workloads and starts them (once; advancing does it too). Subscribe to
    /// the trace first to see the nodes start.
    /// </summary>
    public void Begin() => _run.Begin();

    /// <summary>Runs <paramref name="sliceMicroseconds"/> of virtual time.</summary>
    public void Advance(long sliceMicroseconds) =>
        _run.AdvanceTo(Simulation.Now + Math.Max(0, sliceMicroseconds));

    /// <summary>Crashes the named node (it stays down until restarted).</summary>
    public void Crash(string node)
    {
        Simulation.RecordStep($"tui: crash {node}");
        Find(node).Crash();
    }

    /// <summary>Restarts the named node (crash, then start from what its disk kept), or starts it if down.</summary>
    public void Restart(string node)
    {
        Simulation.RecordStep($"tui: restart {node}");
        var target = Find(node);
        if (target.State == SimNodeState.Down)
        {
            target.Start();
        }
        else
        {
            target.Restart();
        }
    }

    /// <summary>Cuts the named node off from every other node, both ways.</summary>
    public void Isolate(string node)
    {
        var target = Find(node);
        var others = Simulation.Nodes.Where(n => !ReferenceEquals(n, target)).ToList();
        Simulation.RecordStep($"tui: isolate {node}");
        Simulation.Network.Partition([target], others);
    }

    /// <summary>Removes every partition.</summary>
    public void HealAll()
    {
        Simulation.RecordStep("tui: heal all");
        Simulation.Network.Heal();
    }

    private SimNode Find(string node) =>
        Simulation.FindNode(node) ?? throw new ArgumentException($"no node called '{node}'", nameof(node));

    /// <inheritdoc />
    public void Dispose() => _run.Dispose();
}
