using KeplerSim.Sim.Invariants;
using KeplerSim.Sim.Kernel;

namespace KeplerSim.Sim.Scenarios;

/// <summary>Hooks for <see cref="LiveScenario"/>: run a scenario a slice at a time instead of to the end.</summary>
internal sealed partial class ScenarioRun
{
    private bool _begun;
    private bool _healedAtEnd;

    /// <summary>The run's simulation.</summary>
    internal Simulation Simulation => _sim;

    /// <summary>What the checkers see (members, stopped nodes, the chunk inspector).</summary>
    internal CheckContext Context => _context;

    /// <summary>Adds the nodes, schedules the steps and workloads and starts the fault injector, once.</summary>
    internal void Begin()
    {
        if (!_begun)
        {
            _begun = true;
            Setup();
        }
    }

    /// <summary>
    /// Runs until <paramref name="timeMicroseconds"/>. Crossing the scenario's duration heals every fault, as
    /// <c>Execute</c> does before its liveness phase; the run then goes on for as long as it is driven.
    /// </summary>
    internal void AdvanceTo(long timeMicroseconds)
    {
        Begin();
        var end = _scenario.Duration.Microseconds;
        if (!_healedAtEnd && timeMicroseconds >= end)
        {
            _sim.RunUntil(end);
            _healedAtEnd = true;
            _sim.RecordStep("liveness phase");
            AddTimeline("liveness phase: every fault healed");
            Heal();
        }

        _sim.RunUntil(timeMicroseconds);
    }
}
