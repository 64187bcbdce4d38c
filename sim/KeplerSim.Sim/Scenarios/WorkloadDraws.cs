using KeplerSim.Core.Runtime;

namespace KeplerSim.Sim.Scenarios;

/// <summary>
/// A workload's seeded arrivals: the gap before each (exponential at the workload's rate), and what it asks of
/// which node. The simulator and real mode draw the same sequence from a file and seed, so a workload is the same
/// list of operations both ways; each driver only issues them on its own clock.
/// </summary>
/// <param name="seed">The run's root seed.</param>
/// <param name="workload">The workload.</param>
/// <param name="nodes">The nodes it may address (the workload's, else the cluster's), in order.</param>
internal sealed class WorkloadDraws(ulong seed, WorkloadSpec workload, IReadOnlyList<string> nodes)
{
    private readonly DeterministicRandom _random =
        new(DeterministicRandom.Derive(seed, "workload/" + workload.Name));

    /// <summary>One arrival: what it does to which path on which node, and the size of a put.</summary>
    public readonly record struct Arrival(FileOpKind Kind, string Path, string Node, long SizeBytes);

    /// <summary>The gap in microseconds before the next arrival (at least 1).</summary>
    public long NextGap() =>
        Math.Max(1, (long)(-Math.Log(1 - _random.NextDouble()) / workload.Rate * 1_000_000));

    /// <summary>The next arrival: its kind by the workload's put/get/delete weights, a path among its paths, a
    /// node, and a size log-uniform between its bounds.</summary>
    public Arrival Next()
    {
        var w = workload;
        var pick = _random.NextDouble() * (w.Puts + w.Gets + w.Deletes);
        var kind = pick < w.Puts ? FileOpKind.Put : pick < w.Puts + w.Gets ? FileOpKind.Get : FileOpKind.Delete;
        var path = $"{w.Name}/{_random.NextInt(w.Paths)}";
        var node = nodes[_random.NextInt(nodes.Count)];
        var min = Math.Max(1, w.SizeMin.Bytes);
        var size = (long)Math.Round(Math.Exp(Math.Log(min) + _random.NextDouble() *
            (Math.Log(Math.Max(min, w.SizeMax.Bytes)) - Math.Log(min))));
        return new Arrival(kind, path, node, size);
    }
}
