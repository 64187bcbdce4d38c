namespace KeplerSim.Sim.Real;

/// <summary>How <c>kepler-sim run --real</c> runs a scenario.</summary>
public sealed record RealOptions
{
    /// <summary>The kepler-node executable (or its <c>.dll</c>, run with <c>dotnet</c>).</summary>
    public required string Binary { get; init; }

    /// <summary>Where the run directory (node data directories, logs) is made.</summary>
    public required string RunsRoot { get; init; }

    /// <summary>Run on loopback without namespaces even where namespaces are available.</summary>
    public bool Loopback { get; init; }

    /// <summary>Keep the run directory afterwards (it is deleted on a pass otherwise).</summary>
    public bool KeepData { get; init; }

    /// <summary>Keep the run directory of a failed run (default: yes, to look at; tests say no).</summary>
    public bool KeepFailedData { get; init; } = true;

    /// <summary>How long a node may take to answer <c>/ready</c>.</summary>
    public TimeSpan StartTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// A test hook run after the liveness phase converged and before the final checks (the run's data
    /// directories by node name): lets a test damage the real data out of band.
    /// </summary>
    public Func<IReadOnlyDictionary<string, string>, Task>? BeforeFinalChecks { get; init; }

    /// <summary>
    /// A test hook run as each node event arrives, before the event checkers judge it (the event, the run's data
    /// directories by node name): lets a test damage the real data out of band between an event and its check,
    /// which no fault of the driver's (excused as its own) and no real node (the protocol's code) does.
    /// </summary>
    public Func<Invariants.CheckedEvent, IReadOnlyDictionary<string, string>, Task>? BeforeEventCheck { get; init; }
}
