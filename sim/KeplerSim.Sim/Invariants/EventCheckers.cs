using KeplerSim.Sim.Kernel;

namespace KeplerSim.Sim.Invariants;

/// <summary>
/// Runs safety checks at the trace records of the events that can break them, instead of waiting for the next
/// periodic check (by then an ack-count bug may have healed): a write acknowledged (<c>write.ack</c>:
/// <see cref="InvariantCatalog.CopiesDurableAtAck"/>), a manifest applied (<c>manifest.applied</c>: fencing), a
/// chunk recorded (<c>chunk.replicated</c> on its target, <c>scrub.found</c> repaired, <c>chunk.read_repaired</c>:
/// the recorded copy is durable and intact), a member declared dead (<c>member.dead</c>:
/// <see cref="InvariantCatalog.NoFalseDead"/>). Reads only the disks, the metadata and the kernel.
/// </summary>
public sealed class EventCheckers
{
    private readonly CheckContext _context;
    private readonly IReadOnlySet<string> _declared;
    private readonly Action<string, string> _violated;
    private readonly SortedDictionary<string, SortedSet<string>> _knownBy = new(StringComparer.Ordinal);

    /// <summary>Checks the declared invariants of <paramref name="declared"/>; each violation goes to
    /// <paramref name="violated"/> (invariant name, what was seen).</summary>
    public EventCheckers(CheckContext context, IReadOnlySet<string> declared, Action<string, string> violated)
    {
        ArgumentNullException.ThrowIfNull(context);
        _context = context;
        _declared = declared;
        _violated = violated;
        FalseDead = new FalseDeadTracker(context);
    }

    /// <summary>The false-death judge (its findings also go to the violation callback).</summary>
    public FalseDeadTracker FalseDead { get; }

    /// <summary>Acknowledgements checked by <see cref="InvariantCatalog.CopiesDurableAtAck"/>.</summary>
    public long AcksChecked { get; private set; }

    /// <summary>Feeds one trace record.</summary>
    public void OnRecord(TraceRecord record)
    {
        if (_declared.Contains(InvariantCatalog.NoFalseDead) && FalseDead.OnRecord(record) is { } death)
        {
            _violated(InvariantCatalog.NoFalseDead, death);
        }

        if (record.Kind != TraceKind.Protocol || record.Detail is not { } detail
            || _context.Sim.FindNode(record.Node) is not { } node)
        {
            return;
        }

        var space = detail.IndexOf(' ', StringComparison.Ordinal);
        switch (space > 0 ? detail[..space] : detail)
        {
            case "write.ack" when _declared.Contains(InvariantCatalog.CopiesDurableAtAck):
                if (WriteAck.Parse(detail) is { } ack)
                {
                    AcksChecked++;
                    Report(InvariantCatalog.CopiesDurableAtAck,
                        InvariantChecks.CopiesDurableAtAck(_context, node, ack, KnownTo(node)));
                }

                break;
            case "member.alive" when Field(detail, "Member") is { } member && member != node.Name:
                if (!_knownBy.TryGetValue(node.Name, out var known))
                {
                    _knownBy[node.Name] = known = new SortedSet<string>(StringComparer.Ordinal);
                }

                known.Add(member);
                break;
            case "manifest.applied" when _declared.Contains(InvariantCatalog.VersionsNeverRegress):
                if (Field(detail, "Path") is { } path)
                {
                    Report(InvariantCatalog.VersionsNeverRegress,
                        InvariantChecks.VersionNeverRegresses(_context, node, path));
                }

                break;
            case "chunk.replicated" or "scrub.found" or "chunk.read_repaired"
                when _declared.Contains(InvariantCatalog.ReplicasDurableAndVerified):
                var target = detail.StartsWith("chunk.replicated", StringComparison.Ordinal)
                    ? _context.Sim.FindNode(Field(detail, "Target") ?? "") : node;
                if (Field(detail, "ChunkId") is { Length: 64 } id && target is not null
                    && (!detail.StartsWith("scrub.found", StringComparison.Ordinal)
                        || detail.Contains("Repaired = True", StringComparison.Ordinal)))
                {
                    Report(InvariantCatalog.ReplicasDurableAndVerified,
                        InvariantChecks.RecordedChunkDurable(_context, target, id));
                }

                break;
        }
    }

    /// <summary>
    /// The members the durability contract counts for a write <paramref name="acceptor"/> acknowledges: with a
    /// static member list, every node started and not stopped; with SWIM, those of them the acceptor has ever
    /// learnt of (a <c>member.alive</c> it published), and itself. Knowledge only grows: a member declared dead
    /// still counts (it may come back), so a node cut off from its peers is held to the full N; only a node that
    /// joined after the acceptor last heard of anyone does not count yet.
    /// </summary>
    private int KnownTo(SimNode acceptor)
    {
        var members = _context.Members;
        if (_context.Options.Swim is null)
        {
            return members.Count;
        }

        var known = _knownBy.GetValueOrDefault(acceptor.Name);
        return members.Count(m => m == acceptor || known?.Contains(m.Name) == true);
    }

    private void Report(string name, string? violation)
    {
        if (violation is not null)
        {
            _violated(name, violation);
        }
    }

    /// <summary>The value of <c>Name = value</c> in a printed event record (up to the next comma or brace).</summary>
    private static string? Field(string detail, string name)
    {
        var marker = $" {name} = ";
        var start = detail.IndexOf(marker, StringComparison.Ordinal);
        if (start < 0)
        {
            return null;
        }

        start += marker.Length;
        var end = detail.IndexOfAny([',', '}'], start);
        return (end < 0 ? detail[start..] : detail[start..end]).TrimEnd();
    }
}
