using KeplerSim.Sim.Invariants;

namespace KeplerSim.Sim.Real;

/// <summary>
/// Real mode's side of the checkers: the invariants themselves are the simulator's
/// (<see cref="InvariantChecks.Check(string, CheckedCluster)"/> over <see cref="RealCheckedNode"/>s); what stays here
/// is what only real processes need: why an invariant cannot be judged, the rings fetched over HTTP before
/// <c>membership_converged</c>, and the locks that let wait_until polls run beside the timeline's checks.
/// </summary>
internal sealed partial class RealScenarioRun
{
    private readonly SortedDictionary<string, (long Time, string Detail)> _safetyViolations =
        new(StringComparer.Ordinal);

    // Guards the checkers' state (_cluster: stopped nodes, known corruption, fencing, placement caches): the
    // timeline's safety checks and wait_until polls run concurrently. Taken alone or inside _gate, never around it.
    private readonly Lock _checkGate = new();

    /// <summary>Why an invariant cannot be checked against real nodes (null: it can).</summary>
    private static string? RealNotApplicable(string name) => name switch
    {
        InvariantCatalog.OutsiderChangesNothing => "real mode has no outsider attacker",
        _ => null,
    };

    /// <summary>Runs the named check over the real nodes with the simulator's checkers (null: it holds).</summary>
    private async Task<string?> CheckAsync(string name)
    {
        if (name == InvariantCatalog.MembershipConverged)
        {
            await RefreshRingsAsync();
        }

        if (name == InvariantCatalog.ReadsReturnWrittenBytes)
        {
            lock (_gate) // The workloads write the ledger under _gate.
            {
                return InvariantChecks.Check(name, _cluster);
            }
        }

        lock (_checkGate)
        {
            return InvariantChecks.Check(name, _cluster);
        }
    }

    /// <summary>Each live node's ring (members in its ring, from <c>/api/members</c>): the membership view
    /// <c>membership_converged</c> compares. A node that does not answer has no view.</summary>
    private async Task RefreshRingsAsync()
    {
        List<RealCheckedNode> live;
        lock (_checkGate)
        {
            live = [.. _cluster.Live.Cast<RealCheckedNode>()];
        }

        var rings = await Task.WhenAll(live.Select(n => RingOfAsync(n.Node)));
        for (var i = 0; i < live.Count; i++)
        {
            live[i].Ring = rings[i]?.Split(',', StringSplitOptions.RemoveEmptyEntries);
        }
    }
}
