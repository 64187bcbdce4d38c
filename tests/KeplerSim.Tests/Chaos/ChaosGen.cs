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

    /// <summary>Most steps in a case.</summary>
    public const int StepsMax = 24;

    /// <summary>One of a few legal values; shrinks towards the first.</summary>
    private static Gen<int> Choice(params int[] values) => Gen.Int[0, values.Length - 1].Select(i => values[i]);

    /// <summary>Cluster size and knobs. Nodes 1..9, most cases 1..4.</summary>
    public static readonly Gen<ChaosCluster> Cluster = Gen.Select(
        Gen.Frequency((6, Gen.Int[1, 4]), (1, Gen.Int[5, 9])),
        Gen.Int[1, 9],
        Gen.Int[1, 5],
        Choice(1024, 2048, 4096),
        Choice(8, 32, 128),
        Choice(0, 500, 2_000),
        Choice(300, 1_000, 2_000),
        Choice(50, 200),
        Choice(1_000, 3_000),
        Choice(0, 20, 200),
        Gen.Frequency((4, Gen.Const(false)), (1, Gen.Const(true))),
        (nodes, initial, replicas, chunk, vnodes, grace, antiEntropy, poll, timeout, scrub, swim) => new ChaosCluster(
            nodes, Math.Min(initial, nodes), Math.Min(replicas, nodes), chunk, vnodes, grace, antiEntropy, poll,
            timeout, scrub, swim));

    /// <summary>One step: mostly file operations, every fault kind now and then.</summary>
    public static readonly Gen<ChaosAction> Action = Gen.Frequency(
        (6, Gen.Const(ChaosAction.Put)),
        (4, Gen.Const(ChaosAction.Get)),
        (2, Gen.Const(ChaosAction.Delete)),
        (1, Gen.Const(ChaosAction.List)),
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
        (1, Gen.Const(ChaosAction.Stop)));

    /// <summary>One step with its parameters.</summary>
    public static readonly Gen<ChaosStep> Step = Gen.Select(
        Gen.Int[0, DurationMsMax], Action, Gen.Int[0, 8], Gen.Int[0, ChaosCase.PathSet.Count - 1],
        Gen.Int[1, 6_000], Gen.Enum<Durability>(), Gen.Int[100, 3_000], Gen.Int[1, 510],
        (at, action, node, path, size, durability, length, mask) =>
            new ChaosStep(at, action, node, path, size, durability, length, mask));

    /// <summary>A whole case.</summary>
    public static readonly Gen<ChaosCase> Case = Gen.Select(
        Cluster, Step.Array[0, StepsMax], Gen.Int[1_000, DurationMsMax], Gen.ULong[1, 999_999],
        (cluster, steps, duration, seed) => new ChaosCase(cluster, steps, duration, seed));
}
