using KeplerSim.Sim.Invariants;

namespace KeplerSim.Sim.Scenarios;

/// <summary>The event-driven safety checks (<see cref="EventCheckers"/>) wired to the run's trace.</summary>
internal sealed partial class ScenarioRun
{
    /// <summary>The metric counting false deaths; a bound on it in <c>expect.metrics</c> replaces the default
    /// (none allowed).</summary>
    public const string FalseDeadMetric = "membership.false_dead";

    private EventCheckers? _eventCheckers;

    /// <summary>Hooks the event checkers to every trace record (called once, from the constructor).</summary>
    private void AttachEventCheckers()
    {
        var declared = new SortedSet<string>(Declared(InvariantPhase.Safety), StringComparer.Ordinal);
        var truth = new SimReachability(_sim);
        _eventCheckers = new EventCheckers(_context.Cluster, truth, declared, OnEventViolation, truth.ProberViewOf)
        {
            InitialSkewMaxMicroseconds = _scenario.Clock.SkewMax.Microseconds,
        };
        _sim.Trace.Recorded += _eventCheckers.OnRecord;
    }

    private void OnEventViolation(string name, string detail)
    {
        if (name == InvariantCatalog.NoFalseDead)
        {
            Count(FalseDeadMetric);
            if (_scenario.Expect.Metrics.ContainsKey(FalseDeadMetric))
            {
                return; // The scenario bounds false deaths itself (e.g. under heavy loss).
            }
        }

        if (!_safetyViolations.ContainsKey(name))
        {
            _safetyViolations[name] = (_sim.Now, detail);
            AddTimeline($"VIOLATION {name}: {detail}");
        }
    }
}
