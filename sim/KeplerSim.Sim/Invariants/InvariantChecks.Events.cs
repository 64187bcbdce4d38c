using System.Globalization;
using System.Text.RegularExpressions;
using KeplerSim.Core.Manifests;

namespace KeplerSim.Sim.Invariants;

/// <summary>The safety checks evaluated at the protocol events that can break them (docs/CHAOS.md), over any host's
/// nodes (<see cref="ICheckedNode"/>): the simulator calls them at the event's instant, real mode as the event
/// arrives from the node's stream.</summary>
public static partial class InvariantChecks
{
    /// <summary>
    /// The copies a write of <paramref name="durability"/> promises, under the durability contract: N =
    /// min(replication factor, members known to the cluster: nodes started and not gracefully left); <c>all</c>
    /// N, <c>quorum</c> N/2+1, <c>fast</c> 1 (never more than N).
    /// </summary>
    public static int PromisedCopies(string durability, int replicationFactor, int knownMembers)
    {
        var n = Math.Max(1, Math.Min(replicationFactor, knownMembers));
        return durability.ToUpperInvariant() switch
        {
            "ALL" => n,
            "QUORUM" => n / 2 + 1,
            _ => 1,
        };
    }

    /// <summary>
    /// Safety, at the instant <paramref name="node"/> acknowledges a write: every chunk of the acknowledged version
    /// is durable and intact (<see cref="ICheckedNode.HoldsDurableIntact"/>: survives a crash now, bytes hash to the
    /// id) on at least
    /// <see cref="PromisedCopies"/> distinct nodes that own it, N over <paramref name="knownMembers"/> (default: the
    /// nodes started and not stopped). Ground truth only: the disks, not what any node believes. Owners are
    /// computed by the independent <see cref="PlacementReference"/> over the ring member sets the acceptor held
    /// during the write (<paramref name="ownerViews"/>; a node owning the chunk in any of them counts; null: any
    /// node counts), so a hinted copy on a non-owner (the acceptor's own included) never counts for <c>all</c> and
    /// <c>quorum</c> (<c>fast</c> promises the acceptor's copy, owner or not). A copy a known
    /// fault (corruption) hit counts: the protocol cannot prevent that. Null when it holds, or when the version
    /// cannot be read from the node's metadata (busy); else what was short.
    /// </summary>
    public static string? CopiesDurableAtAck(CheckedCluster context, ICheckedNode node, WriteAck ack,
        int? knownMembers = null, IReadOnlyList<IReadOnlyList<string>>? ownerViews = null,
        WriteFactors? factors = null)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(node);
        ArgumentNullException.ThrowIfNull(ack);
        var chunks = node.VersionChunks(ack.Path, ack.Version);
        if (chunks is null)
        {
            return node.MetadataReadable()
                ? $"{node.Name} acknowledged {ack.Path} {ack.Version} but has no such version recorded"
                : null;
        }

        if (chunks.Count != ack.Chunks)
        {
            return $"{node.Name} acknowledged {ack.Path} {ack.Version} with {ack.Chunks} chunk(s), its metadata " +
                $"records {chunks.Count}";
        }

        var members = knownMembers ?? context.Members.Count;
        var configured = Math.Min(context.Options.ReplicationFactor, Core.Ring.RingOptions.ReplicationFactorMax);
        var (atStart, most) = factors ?? new WriteFactors(configured, configured);
        var required = PromisedCopies(ack.Durability, atStart, members);
        var holders = context.Nodes.Where(n => n.Started).ToList();
        // 'fast' promises this node's copy, owner or hinted; 'all' and 'quorum' promise copies on owners.
        var rings = required <= 1 && ack.Durability.Equals("Fast", StringComparison.OrdinalIgnoreCase) ? null
            : ownerViews?.Select(v => context.Placement(v, most)).ToList();
        var short_ = new List<string>();
        foreach (var id in chunks.Distinct(StringComparer.Ordinal))
        {
            var owners = rings?.SelectMany(r => r.OwnersOf(id)).ToHashSet(StringComparer.Ordinal);
            var copies = holders.Where(h => owners?.Contains(h.Name) != false).Where(h =>
                context.KnownCorrupt.Contains((h.Name, id))
                ? h.HoldsChunkFile(id)
                : h.HoldsDurableIntact(id)).Select(h => h.Name).ToList();
            if (copies.Count < required)
            {
                short_.Add($"{id[..12]} on [{string.Join(",", copies)}]");
            }
        }

        return short_.Count == 0 ? null
            : $"{node.Name} acknowledged {ack.Path} {ack.Version} ({ack.Durability.ToLowerInvariant()}: " +
              $"{required} durable intact copies on distinct owners promised, N over {members} " +
              $"known member(s)) with {short_.Count} chunk(s) short (owner copies): " + Examples(short_);
    }

    /// <summary>
    /// Safety, at the instant <paramref name="node"/> acknowledges a write: the acknowledged version (its manifest)
    /// is recorded in the committed metadata of at least <see cref="PromisedCopies"/> distinct nodes, as the
    /// durability contract promises (docs/PROTOCOL.md). A running node whose metadata cannot be read now (busy)
    /// counts; a node that is down and unreadable does not.
    /// Null when it holds; else where the manifest was.
    /// </summary>
    public static string? ManifestDurableAtAck(CheckedCluster context, ICheckedNode node, WriteAck ack,
        int? knownMembers,
        int? replicationFactor = null)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(node);
        ArgumentNullException.ThrowIfNull(ack);
        var members = knownMembers ?? context.Members.Count;
        var required = PromisedCopies(ack.Durability, replicationFactor ?? context.Options.ReplicationFactor, members);
        // Lazily, and only as far as the promise: at 200 nodes a write must not cost 200 metadata queries.
        var holders = context.Nodes.Where(n => n.Started
            && n.RecordsVersion(ack.Path, ack.Version) is { } recorded
                ? recorded : n.Running).Select(n => n.Name).Take(required).ToList();
        return holders.Count >= required ? null
            : $"{node.Name} acknowledged {ack.Path} {ack.Version} ({ack.Durability.ToLowerInvariant()}: manifest " +
              $"on {required} nodes promised, N over {members} known member(s)), but only " +
              $"[{string.Join(",", holders)}] record it";
    }

    /// <summary>
    /// The replication factors of one write: the one its acceptor held when it began (<paramref name="AtStart"/>:
    /// what the write promises) and the largest it held until the acknowledgement (<paramref name="Most"/>: owners
    /// under it count, as the owners of any ring view during the write do).
    /// </summary>
    public readonly record struct WriteFactors(int AtStart, int Most);

    /// <summary>
    /// Safety (fencing), when <paramref name="node"/> applies a manifest of <paramref name="path"/>: its winning
    /// version of the path is not older than the highest it showed before. Updates the high-water mark.
    /// </summary>
    public static string? VersionNeverRegresses(CheckedCluster context, ICheckedNode node, string path)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(node);
        if (node.WinnerOf(path) is not { } winner)
        {
            return null;
        }

        var key = (node.Name, path);
        if (context.HighestWinners.TryGetValue(key, out var highest) && winner < highest)
        {
            return $"{node.Name}:{path} winner went back from {highest} to {winner}";
        }

        context.HighestWinners[key] = winner;
        return null;
    }

    /// <summary>
    /// Safety, when a chunk is recorded on <paramref name="node"/> (a peer confirmed it durable there, scrub or a
    /// read repaired it): if the node's index records the chunk, its file is durable and intact (or a known fault
    /// hit it).
    /// </summary>
    public static string? RecordedChunkDurable(CheckedCluster context, ICheckedNode node, string id)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(node);
        // Known durable and intact (and unchanged since): the check below would find it so, without its query.
        // The periodic repair scan re-confirms every copy every minute, each a chunk.replicated record.
        if (node.KnownDurableIntact(id)
            || node.IndexesChunk(id) != true || context.KnownCorrupt.Contains((node.Name, id))
            || node.HoldsDurableIntact(id))
        {
            return null;
        }

        return $"{node.Name}:{id[..12]} recorded, but its file is missing, not durable or does not match";
    }
}

/// <summary>A <c>write.ack</c> event as the trace prints it.</summary>
/// <param name="Path">The file's path.</param>
/// <param name="Version">The acknowledged version token.</param>
/// <param name="Durability">The durability asked for (<c>All</c>, <c>Quorum</c>, <c>Fast</c>).</param>
/// <param name="Chunks">Chunks of the version (with repeats).</param>
public sealed partial record WriteAck(string Path, VersionToken Version, string Durability, int Chunks)
{
    /// <summary>The acknowledgement a <c>write.ack</c> event carries; null if it is not one or a field is missing.
    /// </summary>
    public static WriteAck? Of(CheckedEvent e)
    {
        ArgumentNullException.ThrowIfNull(e);
        return e.Kind == "write.ack" && e.Field("Path") is { } path && e.Field("Durability") is { } durability
            && e.Field("Version") is { } text && ClusterInspector.ParseVersion(text) is { } version
            && int.TryParse(e.Field("Chunks"), NumberStyles.None, CultureInfo.InvariantCulture, out var chunks)
                ? new WriteAck(path, version, durability, chunks)
                : null;
    }

    /// <summary>Parses the detail of a <c>write.ack</c> trace record; null if it is not one.</summary>
    public static WriteAck? Parse(string? detail)
    {
        if (detail is null || !detail.StartsWith("write.ack ", StringComparison.Ordinal)
            || AckPattern().Match(detail) is not { Success: true } match
            || ClusterInspector.ParseVersion(match.Groups["version"].Value) is not { } version)
        {
            return null;
        }

        return new WriteAck(match.Groups["path"].Value, version, match.Groups["durability"].Value,
            int.Parse(match.Groups["chunks"].Value, CultureInfo.InvariantCulture));
    }

    // The trace prints an event as its record: the base's Kind comes first ("{ Kind = write.ack, Path = …").
    [GeneratedRegex(@"\{ (Kind = \S+, )?Path = (?<path>.*), Version = (?<version>\S+), " +
        @"Durability = (?<durability>\w+), Chunks = (?<chunks>\d+), SizeBytes = \d+ \}$",
        RegexOptions.CultureInvariant)]
    private static partial Regex AckPattern();
}
