namespace KeplerSim.Tui.Model;

/// <summary>
/// Folds the event stream into what events alone can tell: each member's SWIM state and incarnation, when each
/// node was last heard of, and each node's latest replication progress. Every source feeds its events through
/// one of these; a replay rebuilds one from the start of the trace for each seek. Not thread-safe.
/// </summary>
public sealed class EventFold
{
    private readonly SortedDictionary<string, (MemberState State, long Incarnation)> _swim =
        new(StringComparer.Ordinal);

    private readonly SortedDictionary<string, MonitorEvent> _lastHeard = new(StringComparer.Ordinal);
    private readonly SortedDictionary<string, RepairProgress> _progress = new(StringComparer.Ordinal);

    /// <summary>Events folded so far.</summary>
    public long Count { get; private set; }

    /// <summary>Applies one event.</summary>
    public void Apply(MonitorEvent e)
    {
        ArgumentNullException.ThrowIfNull(e);
        Count++;
        if (e.Node != "-")
        {
            _lastHeard[e.Node] = e;
        }

        switch (e.Kind)
        {
            case "member.alive":
                Member(e, MemberState.Alive);
                break;
            case "member.suspect":
                Member(e, MemberState.Suspect);
                break;
            case "member.dead":
                Member(e, MemberState.Dead);
                break;
            case "member.left":
                Member(e, MemberState.Left);
                break;
            case "member.refute":
                Member(e, MemberState.Alive);
                break;
            case "replication.progress":
                _progress[e.Node] = new RepairProgress(e.Number("chunksLeft") ?? 0, e.Number("bytesLeft") ?? 0,
                    e.Real("chunksPerSecond") ?? 0, e.Number("etaMicroseconds") ?? -1);
                break;
            case "node.crashed":
                // A crashed node's queue report is stale; it reports again after its restart.
                _progress.Remove(e.Node);
                break;
        }
    }

    /// <summary>The member's SWIM state and incarnation, if any SWIM event named it.</summary>
    public (MemberState State, long Incarnation)? Swim(string member) =>
        _swim.TryGetValue(member, out var s) ? s : null;

    /// <summary>Every member some SWIM event named, ordered.</summary>
    public IEnumerable<string> SwimMembers => _swim.Keys;

    /// <summary>The last event the node reported, or about it.</summary>
    public MonitorEvent? LastHeard(string node) => _lastHeard.GetValueOrDefault(node);

    /// <summary>The node's latest reported queue depth, if any.</summary>
    public long? QueueDepth(string node) => _progress.TryGetValue(node, out var p) ? p.ChunksLeft : null;

    /// <summary>Progress summed over nodes; null when no node reported any.</summary>
    public RepairProgress? Progress()
    {
        if (_progress.Count == 0)
        {
            return null;
        }

        var values = _progress.Values.ToList();
        var eta = values.Any(p => p.ChunksLeft > 0 && p.EtaMicroseconds < 0)
            ? -1
            : values.Max(p => p.ChunksLeft > 0 ? p.EtaMicroseconds : 0);
        return new RepairProgress(values.Sum(p => p.ChunksLeft), values.Sum(p => p.BytesLeft),
            values.Sum(p => p.ChunksPerSecond), eta);
    }

    private void Member(MonitorEvent e, MemberState state)
    {
        if (e.Field("member") is not { Length: > 0 } member)
        {
            return;
        }

        var incarnation = e.Number("incarnation") ?? 0;
        if (e.Kind == "member.refute")
        {
            incarnation = Math.Max(incarnation, e.Number("accused") ?? 0);
        }

        _lastHeard[member] = e;
        _swim[member] = (state, incarnation);
    }
}
