using CsCheck;
using KeplerSim.Core.Node;

namespace KeplerSim.Tests.Chaos;

/// <summary>
/// CsCheck generators of chaos cases. Every value is legal (the scenario validator accepts every generated file),
/// and small: few nodes, KiB chunks, seconds of virtual time, so hundreds of cases run in the fast tier. Shrinking
/// moves towards fewer steps, fewer nodes, earlier times and the first choice of each knob.
/// </summary>
public static class ChaosGen
{
    /// <summary>Longest run; the timeline of a case fits in it.</summary>
    public const int DurationMsMax = 6_000;

    /// <summary>
    /// Longest crash, pause or partition: past SWIM's suspicion timeout (4 probe intervals, 4 s by default), so
    /// some faults end in a death, a ring change, re-replication and, after the return, a rebalance.
    /// </summary>
    public const int LengthMsMax = 6_000;

    /// <summary>Most steps in a case.</summary>
    public const int StepsMax = 24;

    /// <summary>One of a few legal values; shrinks towards the first.</summary>
    private static Gen<int> Choice(params int[] values) => Gen.Int[0, values.Length - 1].Select(i => values[i]);

    /// <summary>
    /// Membership: SWIM in three cases of four. SWIM is the smallest value, so CsCheck's shrinking (towards smaller
    /// values) keeps it, and a shrunk case turns static only when static fails too.
    /// </summary>
    public static readonly Gen<ChaosMembership> Membership =
        Gen.Int[0, 3].Select(i => i < 3 ? ChaosMembership.Swim : ChaosMembership.Static);

    /// <summary>
    /// The safety nets' timings, short enough that they run inside a case: anti-entropy, write timeout, garbage
    /// collection (grace just above what <c>KeplerOptions.Validate</c> demands: write timeout + 4 anti-entropy
    /// rounds) and its interval. The periodic repair scan is the one net kept out of the case: its interval is
    /// longer than the case and its liveness bound together (<see cref="ChaosCase.RepairScanIntervalMs"/>), so it
    /// cannot re-queue lost work before the bound judges it (scans after a start or a ring change still run) —
    /// in three cases of four. In the fourth it runs every 0.5 s, well inside the shortest gc grace (1.9 s): what
    /// only periodic scans do must be tested too
    /// (each scan offers every copy, garbage included, to the other owners, and a confirmation once restarted the
    /// gc grace, so two owners kept each other's garbage for good: scenarios/regressions/gc-with-repair-scans.yaml).
    /// Out of the case is the smallest value, so shrinking keeps a failure's scans only when they matter.
    /// </summary>
    public static readonly Gen<ChaosTimings> Timings = Gen.Select(
        Choice(200, 500, 1_000),
        Choice(1_000, 2_000),
        Choice(100, 1_000, 3_000),
        Choice(250, 1_000),
        Choice(0, 0, 0, 500),
        (antiEntropy, timeout, gcExtra, gcInterval, scan) => new ChaosTimings(antiEntropy, timeout,
            timeout + 4 * antiEntropy + gcExtra, gcInterval, scan));

    /// <summary>Cluster size and knobs. Nodes 1..9, most cases 1..4.</summary>
    public static readonly Gen<ChaosCluster> Cluster = Gen.Select(
        Membership,
        Gen.Frequency((6, Gen.Int[1, 4]), (1, Gen.Int[5, 9])),
        Gen.Int[1, 9],
        Gen.Int[1, 5],
        Choice(1024, 2048, 4096),
        Choice(8, 32, 128),
        Choice(0, 500, 2_000),
        Timings,
        Choice(50, 200),
        Choice(0, 20, 200),
        // A static cluster (PEERS) is deployed whole: a listed member never started would own chunks forever
        // (chaos seed bW2gHdAuhWj3: membership_converged and the owners' copies could never hold).
        (membership, nodes, initial, replicas, chunk, vnodes, grace, timings, poll, scrub) => new ChaosCluster(
            nodes, membership == ChaosMembership.Swim ? Math.Min(initial, nodes) : nodes, Math.Min(replicas, nodes), chunk, vnodes, grace, timings.AntiEntropyMs,
            poll, timings.WriteTimeoutMs, scrub, membership == ChaosMembership.Swim)
        {
            GcGraceMs = timings.GcGraceMs,
            GcIntervalMs = timings.GcIntervalMs,
            RepairScanMs = timings.RepairScanMs,
        });

    /// <summary>One step: mostly file operations, every fault kind now and then.</summary>
    public static readonly Gen<ChaosAction> Action = Gen.Frequency(
        (6, Gen.Const(ChaosAction.Put)),
        (4, Gen.Const(ChaosAction.Get)),
        (2, Gen.Const(ChaosAction.Delete)),
        (1, Gen.Const(ChaosAction.List)),
        (2, Gen.Const(ChaosAction.Concurrent)),
        (2, Gen.Const(ChaosAction.Crash)),
        (1, Gen.Const(ChaosAction.Restart)),
        (1, Gen.Const(ChaosAction.Pause)),
        (2, Gen.Const(ChaosAction.Partition)),
        (1, Gen.Const(ChaosAction.OneWay)),
        (1, Gen.Const(ChaosAction.Network)),
        (1, Gen.Const(ChaosAction.Corrupt)),
        (1, Gen.Const(ChaosAction.DiskFull)),
        (1, Gen.Const(ChaosAction.ClockJump)),
        (1, Gen.Const(ChaosAction.ClockSkew)),
        (1, Gen.Const(ChaosAction.Start)),
        (1, Gen.Const(ChaosAction.Stop)),
        (1, Gen.Const(ChaosAction.Outsider)),
        (1, Gen.Const(ChaosAction.ReadErrors)),
        (1, Gen.Const(ChaosAction.SlowDisk)),
        (1, Gen.Const(ChaosAction.Cut)),
        (1, Gen.Const(ChaosAction.AbortedPut)));
    // ChaosAction.ReplicationFactor is not generated yet: it finds an open contract question (a copy an 'all' write
    // counted, trimmed as surplus under a factor lowered mid-write before the acknowledgement; docs/CHAOS.md).

    /// <summary>One step with its parameters.</summary>
    public static readonly Gen<ChaosStep> Step = Gen.Select(
        Gen.Int[0, DurationMsMax], Action, Gen.Int[0, 8], Gen.Int[0, ChaosCase.PathSet.Count - 1],
        Gen.Int[1, 6_000], Gen.Enum<Durability>(), Gen.Int[100, LengthMsMax], Gen.Int[1, 510],
        (at, action, node, path, size, durability, length, mask) =>
            new ChaosStep(at, action, node, path, size, durability, length, mask));

    /// <summary>A whole case.</summary>
    public static readonly Gen<ChaosCase> Case = Gen.Select(
        Cluster, Step.Array[0, StepsMax], Gen.Int[1_000, DurationMsMax], Gen.ULong[1, 999_999],
        (cluster, steps, duration, seed) => new ChaosCase(cluster, steps, duration, seed));
}
