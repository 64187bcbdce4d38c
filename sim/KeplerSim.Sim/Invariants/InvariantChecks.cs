using KeplerSim.Sim.Kernel;

namespace KeplerSim.Sim.Invariants;

/// <summary>
/// The checkers. Each returns null when the invariant holds, else what it saw. They read state only through
/// <see cref="ClusterInspector"/> and the kernel's public API; they never call the protocol.
/// </summary>
public static partial class InvariantChecks
{
    private const int ExamplesMax = 3;

    /// <summary>Runs the named check (the reads check is separate: it needs virtual time to pass).</summary>
    public static string? Check(string name, CheckContext context) => name switch
    {
        InvariantCatalog.ChunksMatchIds => ChunksMatchIds(context),
        InvariantCatalog.AllNodesRunning => AllNodesRunning(context),
        InvariantCatalog.QueuesEmpty => QueuesEmpty(context),
        InvariantCatalog.ReplicasOnOwners => Placement(context, surplus: false),
        InvariantCatalog.NoSurplusCopies => Placement(context, surplus: true),
        InvariantCatalog.CorruptChunksRepaired => CorruptChunksRepaired(context),
        InvariantCatalog.MembershipConverged => MembershipConverged(context),
        InvariantCatalog.WinnersAgree => WinnersAgree(context),
        InvariantCatalog.ReadsReturnWrittenBytes => ReadsReturnWrittenBytes(context),
        InvariantCatalog.VersionsNeverRegress => VersionsNeverRegress(context),
        InvariantCatalog.ReplicasDurableAndVerified => ReplicasDurableAndVerified(context),
        InvariantCatalog.GarbageCollected => GarbageCollected(context),
        InvariantCatalog.OutsiderChangesNothing => OutsiderChangesNothing(context),
        InvariantCatalog.ReplicationFactorConverged => ReplicationFactorConverged(context),
        _ => null,
    };

    /// <summary>Safety: a chunk file that does not match its id must have been hit by a known fault.</summary>
    public static string? ChunksMatchIds(CheckContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var bad = new List<string>();
        foreach (var node in context.Sim.Nodes.Where(n => n.Epoch > 0))
        {
            foreach (var file in context.Inspector.ChunkFiles(node))
            {
                if (!file.Matches && !context.KnownCorrupt.Contains((node.Name, file.Id)))
                {
                    bad.Add($"{node.Name}:{file.Path}");
                }
            }
        }

        return bad.Count == 0 ? null : $"{bad.Count} chunk file(s) do not match their id and no fault explains it: " +
            Examples(bad);
    }

    private static string? AllNodesRunning(CheckContext context)
    {
        var down = context.Members.Where(n => n.State != SimNodeState.Running).Select(n => $"{n.Name} {n.State}")
            .ToList();
        return down.Count == 0 ? null : "not running: " + string.Join(", ", down);
    }

    private static string? QueuesEmpty(CheckContext context)
    {
        var busy = new List<string>();
        foreach (var node in context.Live)
        {
            var depth = ClusterInspector.QueueDepth(node);
            if (depth != 0)
            {
                busy.Add(depth is null ? $"{node.Name} unreadable" : $"{node.Name} {depth}");
            }
        }

        return busy.Count == 0 ? null : "queue entries: " + Examples(busy, 8);
    }

    /// <summary>
    /// Liveness: every live node's metadata holds the winning runtime replication factor change (the factor,
    /// version and origin an operator's call was answered with), or none when no change was made.
    /// </summary>
    private static string? ReplicationFactorConverged(CheckContext context)
    {
        var expected = context.ReplicationSetting;
        var off = new List<string>();
        foreach (var node in context.Live)
        {
            var held = ClusterInspector.HeldSettings(node, out var readable);
            if (!readable)
            {
                return $"metadata of {node.Name} unreadable (busy)";
            }

            if (held != expected)
            {
                off.Add($"{node.Name} holds {Describe(held)}");
            }
        }

        return off.Count == 0 ? null : $"expected {Describe(expected)}: " + Examples(off, 8);

        static string Describe(Core.Membership.ClusterSettings? s) => s is null ? "no runtime change"
            : $"factor {s.ReplicationFactor} (version {s.Version} from {s.Origin})";
    }

    private static string? CorruptChunksRepaired(CheckContext context)
    {
        var bad = context.Live.SelectMany(n => context.Inspector.ChunkFiles(n).Where(f => !f.Matches)
            .Select(f => $"{n.Name}:{f.Id[..12]}")).ToList();
        return bad.Count == 0 ? null : $"{bad.Count} corrupt chunk file(s) remain: " + Examples(bad);
    }

    private static string? Placement(CheckContext context, bool surplus)
    {
        var live = context.Live;
        var referenced = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var node in live)
        {
            var ids = ClusterInspector.ReferencedChunks(node);
            if (ids is null)
            {
                return $"metadata of {node.Name} unreadable (busy)";
            }

            referenced.UnionWith(ids);
        }

        var held = new SortedDictionary<string, SortedSet<string>>(StringComparer.Ordinal);
        foreach (var node in live)
        {
            held[node.Name] = new SortedSet<string>(
                context.Inspector.ChunkFiles(node).Where(f => f.Matches).Select(f => f.Id), StringComparer.Ordinal);
        }

        var placement = context.ExpectedPlacement();
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
    public static string? GarbageCollected(CheckContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var options = context.Options;
        var slack = options.GcGraceMicroseconds + 2 * options.GcIntervalMicroseconds + GarbageMarginMicroseconds;
        var ahead = Math.Max(0, (context.LivenessDeadline ?? context.Sim.Now) - context.Sim.Now);
        var left = new List<string>();
        foreach (var node in context.Live)
        {
            var horizon = node.Clock.WallMicroseconds + ahead - slack;
            if (ClusterInspector.UncollectedGarbage(node, horizon) is not { } garbage)
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
