using KeplerSim.Sim.Invariants;

namespace KeplerSim.Sim.Scenarios;

/// <summary>
/// The report lines of the two checking phases, written alike by the simulator and real mode: a safety invariant
/// (not applicable, first violation, or held), convergence within <c>converge_within</c>, and a liveness invariant
/// by its last poll. The drivers differ only in how they wait (virtual time against the wall clock).
/// </summary>
internal static class PhaseVerdicts
{
    /// <summary>A safety invariant's line; <paramref name="watched"/> says how it was watched (after its meaning).
    /// </summary>
    public static Expectation Safety(string name, string? notApplicable, (long Time, string Detail)? violation,
        string watched) =>
        notApplicable is { } reason ? new Expectation(name, ExpectationStatus.NotApplicable, reason)
        : violation is { } v ? new Expectation(name, ExpectationStatus.Fail,
            $"first violated at {ScenarioRun.Seconds(v.Time)}: {v.Detail}")
        : new Expectation(name, ExpectationStatus.Pass, InvariantCatalog.Get(name).Meaning + watched);

    /// <summary>
    /// The convergence line: passed after <paramref name="after"/> microseconds (<paramref name="clock"/> follows,
    /// e.g. which clock), or failed with every check still failing in the last poll.
    /// </summary>
    public static Expectation Converged(Duration bound, long? after, IReadOnlyDictionary<string, string?> last,
        string clock = "")
    {
        ArgumentNullException.ThrowIfNull(last);
        var name = $"converged within {bound}";
        return after is { } a
            ? new Expectation(name, ExpectationStatus.Pass, $"converged after {ScenarioRun.Seconds(a)}{clock}")
            : new Expectation(name, ExpectationStatus.Fail, "still failing at the bound: " + string.Join("; ",
                last.Where(kv => kv.Value is not null).Select(kv => $"{kv.Key}: {kv.Value}")));
    }

    /// <summary>A liveness invariant's line from its last poll (null: it held).</summary>
    public static Expectation Liveness(string name, string? lastFailure) => lastFailure is { } failure
        ? new Expectation(name, ExpectationStatus.Fail, failure)
        : new Expectation(name, ExpectationStatus.Pass, InvariantCatalog.Get(name).Meaning);
}
