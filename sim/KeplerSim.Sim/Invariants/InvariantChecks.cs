namespace KeplerSim.Sim.Invariants;

/// <summary>
/// The checkers. Each returns null when the invariant holds, else what it saw. The state checks read nodes only
/// through <see cref="ICheckedNode"/> (chunk files, read-only metadata queries) and <see cref="CheckedCluster"/>,
/// so the simulator and real mode run the same code; so do the event checks (<see cref="EventCheckers"/>, fed
/// the simulator's trace or the real nodes' event streams). None calls the protocol.
/// </summary>
public static partial class InvariantChecks
{
    private const int ExamplesMax = 3;

    /// <summary>Runs the named check over a simulated run: the host-neutral state checks of
    /// <see cref="Check(string, CheckedCluster)"/> and those only the simulation can judge (durability needs the disk
    /// model's fsync state, outsiders exist only there). The reads check is separate: it needs virtual time.</summary>
    public static string? Check(string name, CheckContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return name switch
        {
            InvariantCatalog.ReplicasDurableAndVerified => ReplicasDurableAndVerified(context),
            InvariantCatalog.OutsiderChangesNothing => OutsiderChangesNothing(context),
            _ => Check(name, context.Cluster),
        };
    }

    /// <summary>
    /// Runs the named state check over any host's nodes (the simulator's, or real processes' data directories in
    /// real mode); null when it holds, or when the name is not a state check this host-neutral set has (real mode
    /// reports those as not applicable before it asks).
    /// </summary>
    public static string? Check(string name, CheckedCluster cluster) => name switch
    {
        InvariantCatalog.ChunksMatchIds => ChunksMatchIds(cluster),
        InvariantCatalog.AllNodesRunning => AllNodesRunning(cluster),
        InvariantCatalog.QueuesEmpty => QueuesEmpty(cluster),
        InvariantCatalog.ReplicasOnOwners => Placement(cluster, surplus: false),
        InvariantCatalog.NoSurplusCopies => Placement(cluster, surplus: true),
        InvariantCatalog.CorruptChunksRepaired => CorruptChunksRepaired(cluster),
        InvariantCatalog.MembershipConverged => MembershipConverged(cluster),
        InvariantCatalog.WinnersAgree => WinnersAgree(cluster),
        InvariantCatalog.ReadsReturnWrittenBytes => ReadsReturnWrittenBytes(cluster.Ledger),
        InvariantCatalog.VersionsNeverRegress => VersionsNeverRegress(cluster),
        InvariantCatalog.GarbageCollected => GarbageCollected(cluster),
        InvariantCatalog.ReplicationFactorConverged => ReplicationFactorConverged(cluster),
        _ => null,
    };

    /// <summary>Safety: a chunk file that does not match its id must have been hit by a known fault.</summary>
    public static string? ChunksMatchIds(CheckedCluster cluster)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        var bad = new List<string>();
        foreach (var node in cluster.Nodes.Where(n => n.Started))
        {
            foreach (var file in node.MismatchedChunkFiles())
            {
                if (!cluster.KnownCorrupt.Contains((node.Name, file.Id)))
                {
                    bad.Add($"{node.Name}:{file.Path}");
                }
            }
        }

        return bad.Count == 0 ? null : $"{bad.Count} chunk file(s) do not match their id and no fault explains it: " +
            Examples(bad);
    }

    /// <summary>Every member runs (neither down nor paused).</summary>
    public static string? AllNodesRunning(CheckedCluster cluster)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        var down = cluster.Members.Where(n => !n.Running).Select(n => $"{n.Name} {n.State}").ToList();
        return down.Count == 0 ? null : "not running: " + string.Join(", ", down);
    }

    /// <summary>Every live node's replication queue is empty.</summary>
    public static string? QueuesEmpty(CheckedCluster cluster)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        var busy = new List<string>();
        foreach (var node in cluster.Live)
        {
            if (!node.TryQuery(MetadataQueries.QueueDepth, out var depth))
            {
                busy.Add($"{node.Name} unreadable");
            }
            else if (depth != 0)
            {
                busy.Add($"{node.Name} {depth}");
            }
        }

        return busy.Count == 0 ? null : "queue entries: " + Examples(busy, 8);
    }

    /// <summary>
    /// Liveness: every live node's metadata holds the winning runtime replication factor change (the factor,
    /// version and origin an operator's call was answered with), or none when no change was made.
    /// </summary>
    private static string? ReplicationFactorConverged(CheckedCluster cluster)
    {
        var expected = cluster.ReplicationSetting;
        var off = new List<string>();
        foreach (var node in cluster.Live)
        {
            if (!node.TryQuery(MetadataQueries.HeldSettings, out var text))
            {
                return $"metadata of {node.Name} unreadable (busy)";
            }

            var held = Core.Membership.ClusterSettings.Parse(text);
            if (held != expected)
            {
                off.Add($"{node.Name} holds {Describe(held)}");
            }
        }

        return off.Count == 0 ? null : $"expected {Describe(expected)}: " + Examples(off, 8);

        static string Describe(Core.Membership.ClusterSettings? s) => s is null ? "no runtime change"
            : $"factor {s.ReplicationFactor} (version {s.Version} from {s.Origin})";
    }

    private static string? CorruptChunksRepaired(CheckedCluster cluster)
    {
        var bad = cluster.Live.SelectMany(n => n.MismatchedChunkFiles()
            .Select(f => $"{n.Name}:{f.Id[..12]}")).ToList();
        return bad.Count == 0 ? null : $"{bad.Count} corrupt chunk file(s) remain: " + Examples(bad);
    }

    private static string? Placement(CheckedCluster cluster, bool surplus)
    {
        var live = cluster.Live;
        var referenced = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var node in live)
        {
            if (!node.TryQuery(MetadataQueries.ReferencedChunks, out var ids))
            {
                return $"metadata of {node.Name} unreadable (busy)";
            }

            referenced.UnionWith(ids);
        }

        var held = new SortedDictionary<string, SortedSet<string>>(StringComparer.Ordinal);
        foreach (var node in live)
        {
            held[node.Name] = new SortedSet<string>(
                node.ChunkFiles().Where(f => f.Matches).Select(f => f.Id), StringComparer.Ordinal);
        }

        var placement = cluster.ExpectedPlacement();
        var problems = new List<string>();
        foreach (var id in referenced)
        {
            var owners = placement.OwnersOf(id);
            if (!surplus)
            {
                problems.AddRange(owners.Where(o => !held.TryGetValue(o, out var set) || !set.Contains(id))
                    .Select(o => $"{id[..12]} missing on {o}"));
                continue;
            }

            problems.AddRange(held
                .Where(kv => kv.Value.Contains(id) && !owners.Contains(kv.Key, StringComparer.Ordinal))
                .Select(kv => $"{id[..12]} surplus on {kv.Key}"));
        }

        return problems.Count == 0 ? null : $"{problems.Count} of {referenced.Count} chunk(s): " + Examples(problems);
    }

    /// <summary>
    /// Liveness: on every live node, garbage whose gc grace (plus two gc intervals and a margin, by the node's own
    /// wall clock) runs out before the liveness deadline is gone: history versions no longer hold chunk
    /// references, and no chunk is left that nothing live references or queues. So the liveness phase waits
    /// until garbage collection has run, and the final reads see what it left; garbage due after the deadline
    /// (a scenario's hour-long default grace) is not judged.
    /// </summary>
    public static string? GarbageCollected(CheckedCluster cluster)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        var options = cluster.Options;
        var slack = options.GcGraceMicroseconds + 2 * options.GcIntervalMicroseconds + GarbageMarginMicroseconds;
        var now = cluster.Now;
        var ahead = Math.Max(0, (cluster.LivenessDeadline ?? now) - now);
        var left = new List<string>();
        foreach (var node in cluster.Live)
        {
            var horizon = node.WallMicroseconds + ahead - slack;
            if (!node.TryQuery(c => MetadataQueries.UncollectedGarbage(c, horizon), out var garbage))
            {
                return $"metadata of {node.Name} unreadable (busy)";
            }

            left.AddRange(garbage.Select(g => $"{node.Name}: {(g.Length > 24 ? g[..24] : g)}"));
        }

        return left.Count == 0 ? null : $"{left.Count} garbage item(s) due before the deadline remain: " +
            Examples(left);
    }

    private const long GarbageMarginMicroseconds = 500_000;

    internal static string Examples(IReadOnlyList<string> items, int max = ExamplesMax) =>
        string.Join(", ", items.Take(max)) + (items.Count > max ? $", … ({items.Count - max} more)" : "");
}
