using KeplerSim.Sim.Invariants;

namespace KeplerSim.Sim.Scenarios;

/// <summary>One line of a run's timeline.</summary>
/// <param name="TimeMicroseconds">Virtual time.</param>
/// <param name="Text">What happened.</param>
public sealed record TimelineEntry(long TimeMicroseconds, string Text);

/// <summary>What a run produced.</summary>
public sealed record RunResult
{
    /// <summary>The scenario's name.</summary>
    public required string Scenario { get; init; }

    /// <summary>The scenario file.</summary>
    public required string File { get; init; }

    /// <summary>The protocol the nodes ran.</summary>
    public required string Protocol { get; init; }

    /// <summary>Number of nodes.</summary>
    public required int Nodes { get; init; }

    /// <summary>The root seed.</summary>
    public required ulong Seed { get; init; }

    /// <summary>Whether swarm randomisation was applied, and what it chose.</summary>
    public IReadOnlyList<string>? SwarmChoices { get; init; }

    /// <summary>The trace hash (16 hex digits).</summary>
    public required string TraceHash { get; init; }

    /// <summary>Trace records.</summary>
    public required long TraceRecords { get; init; }

    /// <summary>Kernel events executed.</summary>
    public required long EventsExecuted { get; init; }

    /// <summary>Virtual time at the end (including the liveness phase).</summary>
    public required long VirtualMicroseconds { get; init; }

    /// <summary>Wall-clock seconds the run took.</summary>
    public required double WallSeconds { get; init; }

    /// <summary>Faults the random injector caused, by kind.</summary>
    public required IReadOnlyDictionary<string, int> FaultCounts { get; init; }

    /// <summary>Key events, in time order (capped).</summary>
    public required IReadOnlyList<TimelineEntry> Timeline { get; init; }

    /// <summary>Timeline entries left out by the cap.</summary>
    public required long TimelineOmitted { get; init; }

    /// <summary>Every checked expectation, in report order.</summary>
    public required IReadOnlyList<Expectation> Expectations { get; init; }

    /// <summary>Metrics by name.</summary>
    public required IReadOnlyDictionary<string, double> Metrics { get; init; }

    /// <summary>What the cluster stored: files written and read back, copies per chunk (file protocols).</summary>
    public IReadOnlyList<string> Storage { get; init; } = [];

    /// <summary>Failure detection: each crash, pause or partition a node suffered and when a peer declared it
    /// dead (protocols with membership).</summary>
    public IReadOnlyList<string> Detections { get; init; } = [];

    /// <summary>Real mode (<c>run --real</c>): how the nodes ran (null: in the simulator).</summary>
    public string? RealMode { get; init; }

    /// <summary>Whether every expectation held.</summary>
    public bool Passed => Expectations.All(e => e.Status != ExpectationStatus.Fail);
}

/// <summary>Runs a scenario in the simulator.</summary>
public static class ScenarioRunner
{
    /// <summary>
    /// Runs <paramref name="scenario"/> with <paramref name="seed"/>, tracing to the optional stream. Throws
    /// <see cref="ScenarioException"/> when the scenario's protocol is not available. <paramref name="plant"/> is
    /// a test hook: a failure planted in a background task (see <see cref="Kernel.PlantedFailure"/>);
    /// <paramref name="nondeterminism"/> another: an extra random draw (see <see cref="PlantedNondeterminism"/>).
    /// <paramref name="measureFromMicroseconds"/> starts the <c>timeline.*</c> traffic metrics later (the bench's
    /// <c>--measure-from</c>); it does not change the run. <paramref name="started"/> sees the simulation before it
    /// runs (the bench's progress lines read its clock from another thread; nothing may change it).
    /// </summary>
    public static RunResult Run(Scenario scenario, ulong seed, Stream? traceJsonLines = null,
        IReadOnlyList<string>? swarmChoices = null, Kernel.PlantedFailure? plant = null,
        PlantedNondeterminism? nondeterminism = null, long? measureFromMicroseconds = null,
        Action<Kernel.Simulation>? started = null)
    {
        ArgumentNullException.ThrowIfNull(scenario);
        using var run = new ScenarioRun(scenario, seed, traceJsonLines, plant)
        {
            Nondeterminism = nondeterminism,
            MeasureFromMicroseconds = measureFromMicroseconds,
        };
        started?.Invoke(run.Simulation);
        return run.Execute(swarmChoices);
    }
}
