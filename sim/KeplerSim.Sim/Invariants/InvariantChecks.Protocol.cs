using KeplerSim.Core.Storage;
using KeplerSim.Sim.Scenarios;

namespace KeplerSim.Sim.Invariants;

/// <summary>The checkers of the property-based chaos tests (docs/CHAOS.md): reads, fencing, replica accounting
/// and the membership view.</summary>
public static partial class InvariantChecks
{
    /// <summary>
    /// Safety: every successful get in the ledger returned the SHA-256 of a put of the same path issued before the
    /// get completed. Anything else is corrupt or invented bytes handed to a client.
    /// </summary>
    public static string? ReadsReturnWrittenBytes(CheckContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return ReadsReturnWrittenBytes(context.Ledger);
    }

    /// <summary>As <see cref="ReadsReturnWrittenBytes(CheckContext)"/>, over the ledger alone (real mode has no
    /// simulation).</summary>
    public static string? ReadsReturnWrittenBytes(FileLedger ledger)
    {
        ArgumentNullException.ThrowIfNull(ledger);
        var bad = ledger.ReadsOfUnwrittenBytes().Select(get => $"get {get.Path} on {get.Node} at " +
            $"{ScenarioRun.Seconds(get.CompletedAt!.Value)} returned sha256 " +
            $"{get.Detail?[..Math.Min(12, get.Detail.Length)]}, which no put of it wrote").ToList();
        return bad.Count == 0 ? null : $"{bad.Count} read(s) returned bytes nobody wrote: " + Examples(bad);
    }

    /// <summary>
    /// Safety (fencing): for each node and path, the winning version token in the node's committed metadata
    /// never decreases between checks. Committed metadata survives crashes, so a restart is no excuse. A path
    /// whose versions were all collected may disappear; if it comes back, it must not come back older.
    /// </summary>
    public static string? VersionsNeverRegress(CheckedCluster cluster)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        var bad = new List<string>();
        foreach (var node in cluster.Nodes.Where(n => n.Started))
        {
            // Only winners whose rows changed since the last check: an unchanged winner was compared already.
            foreach (var (path, version) in node.TryQueryChangedWinners(out var winners) ? winners : [])
            {
                var key = (node.Name, path);
                var known = cluster.HighestWinners.TryGetValue(key, out var highest);
                if (known && version < highest)
                {
                    bad.Add($"{node.Name}:{path} winner went back from {highest} to {version}");
                    continue;
                }

                if (!known || version != highest)
                {
                    cluster.HighestWinners[key] = version;
                }
            }
        }

        return bad.Count == 0 ? null : $"{bad.Count} winner(s) replaced by an older version: " + Examples(bad);
    }

    /// <summary>
    /// Safety: every chunk a node's metadata indexes (and so counts as a replica towards a write's durability and
    /// the placement) has a durable file on that node's disk whose content hashes to the id, unless a known
    /// fault corrupted it since.
    /// </summary>
    public static string? ReplicasDurableAndVerified(CheckContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var bad = new List<string>();
        foreach (var node in context.Sim.Nodes.Where(n => n.Epoch > 0))
        {
            // Only replicas not yet found durable and intact since they were indexed or their file changed.
            var indexed = context.Inspector.UnconfirmedIndexedChunks(node);
            if (indexed is null || indexed.Count == 0)
            {
                continue;
            }

            foreach (var id in indexed)
            {
                // A replica found durable and intact stays so until its file changes: look again only then.
                if (context.Inspector.KnownDurableIntact(node, id))
                {
                    continue;
                }

                var file = context.Inspector.ChunkFileOf(node, id);
                var problem = file is null ? "no file"
                    : !node.Disk.IsDurable(ChunkStore.PathOf(id)) ? "not durable"
                    : !file.Value.Matches && !context.KnownCorrupt.Contains((node.Name, id)) ? "content does not match"
                    : null;
                if (problem is not null)
                {
                    bad.Add($"{node.Name}:{id[..12]} {problem}");
                }
                else if (file!.Value.Matches)
                {
                    context.Inspector.NoteDurableIntact(node, id);
                }
            }
        }

        return bad.Count == 0 ? null : $"{bad.Count} indexed replica(s) not durable and verified: " + Examples(bad);
    }

    /// <summary>Liveness: every live node's metadata names the same winning version of every path.</summary>
    public static string? WinnersAgree(CheckedCluster cluster)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        var views = new List<(string Node, SortedDictionary<string, string> Winners)>();
        foreach (var node in cluster.Live)
        {
            if (!node.TryQuery(MetadataQueries.WinningVersions, out var winners))
            {
                return $"metadata of {node.Name} unreadable (busy)";
            }

            views.Add((node.Name, new SortedDictionary<string, string>(
                winners.ToDictionary(w => w.Path, w => w.Version.ToString()), StringComparer.Ordinal)));
        }

        var differ = new List<string>();
        for (var i = 1; i < views.Count; i++)
        {
            var (a, b) = (views[0], views[i]);
            foreach (var path in a.Winners.Keys.Union(b.Winners.Keys).Order(StringComparer.Ordinal))
            {
                var left = a.Winners.GetValueOrDefault(path) ?? "nothing";
                var right = b.Winners.GetValueOrDefault(path) ?? "nothing";
                if (left != right)
                {
                    differ.Add($"{path}: {a.Node} has {left}, {b.Node} has {right}");
                }
            }
        }

        return differ.Count == 0 ? null : $"{differ.Count} disagreement(s): " + Examples(differ);
    }

    /// <summary>Liveness: every live node places chunks over exactly the members that should be up.</summary>
    public static string? MembershipConverged(CheckedCluster cluster)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        if (cluster.MembershipView is not { } view)
        {
            return null;
        }

        var expected = string.Join(",", cluster.Members.Select(n => n.Name).Order(StringComparer.Ordinal));
        var differ = new List<string>();
        foreach (var node in cluster.Live)
        {
            var seen = view(node) is { } members ? string.Join(",", members.Order(StringComparer.Ordinal)) : null;
            if (seen != expected)
            {
                differ.Add($"{node.Name} sees [{seen ?? "nothing yet"}]");
            }
        }

        return differ.Count == 0 ? null : $"expected [{expected}]: " + Examples(differ);
    }
}
