using KeplerSim.Sim.Scenarios;

namespace KeplerSim.Sim.Invariants;

/// <summary>
/// <c>acknowledged_writes_readable</c>'s judgement of the final reads, for the simulator and real mode alike: each
/// read of a path against the ledger's <see cref="AllowedRead"/>, and all nodes answering the same. The drivers
/// only issue the reads (through the simulated gateway, or over HTTP) and wait for them.
/// </summary>
public static class AcknowledgedReads
{
    /// <summary>Most acknowledged paths the final check reads.</summary>
    public const int PathsMax = 2_000;

    /// <summary>Most live nodes the final check reads each path on (all of them up to this size).</summary>
    public const int NodesPerPathMax = 16;

    /// <summary>
    /// The final reads to issue, for both drivers: every path on every live node in a cluster of up to
    /// <see cref="NodesPerPathMax"/>; in a larger one each path on that many nodes, rotating so consecutive paths
    /// reach different nodes. Reading every path on every one of 1000 nodes issued up to 2 million reads at once
    /// (7 GiB; cluster-1000 never finished). <paramref name="nodes"/> says how many read each path, for the report.
    /// </summary>
    public static List<(string Path, T Node)> Plan<T>(IReadOnlyList<string> paths, IReadOnlyList<T> live,
        out string nodes)
    {
        ArgumentNullException.ThrowIfNull(paths);
        ArgumentNullException.ThrowIfNull(live);
        var perPath = Math.Min(live.Count, NodesPerPathMax);
        nodes = perPath == live.Count ? $"{live.Count}" : $"{perPath} of {live.Count}";
        var plan = new List<(string, T)>(paths.Count * perPath);
        for (var p = 0; p < paths.Count; p++)
        {
            for (var j = 0; j < perPath; j++)
            {
                plan.Add((paths[p], live[(p * perPath + j) % live.Count]));
            }
        }

        return plan;
    }

    /// <summary>
    /// The problems of one path's final reads (empty: fine): each read neither allowed by <paramref name="rule"/>
    /// nor kept under a concurrent winner, then whether the nodes disagree.
    /// </summary>
    /// <param name="path">The path.</param>
    /// <param name="reads">Its reads, one per live node.</param>
    /// <param name="rule">What the ledger allows a read of it to return.</param>
    /// <param name="ledger">The ledger (read only).</param>
    /// <param name="nodeOf">The node a read was issued to, by name.</param>
    public static List<string> Problems(string path, IEnumerable<FileOp> reads, AllowedRead rule, FileLedger ledger,
        Func<string, ICheckedNode> nodeOf)
    {
        ArgumentNullException.ThrowIfNull(reads);
        ArgumentNullException.ThrowIfNull(rule);
        ArgumentNullException.ThrowIfNull(nodeOf);
        var list = reads.ToList();
        var problems = new List<string>();
        foreach (var read in list)
        {
            var fine = (read.Outcome == "ok" && rule.Hashes.Contains(read.Detail!))
                || (read.Outcome == "not_found" && rule.NotFoundAllowed)
                || KeptUnderConcurrentWinner(read, rule, ledger, nodeOf(read.Node));
            if (!fine)
            {
                var got = read.Outcome is null ? "no answer" : read.Outcome + (read.Outcome == "ok"
                    ? " sha256 " + read.Detail![..12] : read.Detail is { } d ? ": " + d : "");
                problems.Add($"{path} on {read.Node}: {got}, expected " + Describe(rule));
            }
        }

        if (list.Select(r => r.Outcome + r.Detail).Distinct(StringComparer.Ordinal).Count() > 1)
        {
            problems.Add($"{path}: nodes disagree");
        }

        return problems;
    }

    /// <summary>
    /// A write acknowledged earlier in real time may still win over L when the two were concurrent (no causal
    /// link: a partition, skewed clocks): the highest token wins and L must then stay as a conflict version. So the
    /// read is fine if it returned a version some put or delete of the path wrote, the node keeps L's version and
    /// its winner's token is higher than L's.
    /// </summary>
    private static bool KeptUnderConcurrentWinner(FileOp read, AllowedRead rule, FileLedger ledger,
        ICheckedNode node)
    {
        var written = read.Outcome == "not_found" || (read.Outcome == "ok" && ledger.Ops.Any(o =>
            o.Kind == FileOpKind.Put && o.Path == read.Path && o.ContentHash == read.Detail));
        return written
            && rule.LastAcknowledged.Version is { } text && ClusterInspector.ParseVersion(text) is { } version
            && node.TryQuery(c => MetadataQueries.VersionState(c, read.Path, version), out var state)
            && state is { Kept: true, Winner: { } winner } && winner > version;
    }

    private static string Describe(AllowedRead rule) =>
        string.Join(" or ", rule.Hashes.Select(h => "sha256 " + h[..12]).Concat(rule.NotFoundAllowed
            ? ["not_found"] : []))
        + $" (last acknowledged: {rule.LastAcknowledged.Kind.ToString().ToLowerInvariant()} " +
        $"at {ScenarioRun.Seconds(rule.LastAcknowledged.IssuedAt)} on {rule.LastAcknowledged.Node})";
}
