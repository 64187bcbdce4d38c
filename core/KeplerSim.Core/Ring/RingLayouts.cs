using KeplerSim.Core.Runtime;

namespace KeplerSim.Core.Ring;

/// <summary>
/// The last few ring layouts laid out, shared by the rings of every node a host runs: a ring over the same
/// members, virtual node count and placement has the same layout (a pure function of the three), so a ring asked
/// for its layout takes an equal one from here instead of laying out its own. A real node holds one per runtime
/// (its successive rings share it); the simulator one per simulation, so its simulated nodes, which converge on
/// the same members, hold one copy of a layout instead of one each (1000 nodes × 512 virtual nodes: 6 MB per
/// copy; the final reads of scenarios/bench/cluster-1000.yaml made 336 nodes lay out their own, 2 GB). Sharing
/// changes no lookup: the arrays are never written after they are laid out. Bounded: the least recently used
/// entry is dropped beyond <see cref="EntriesMax"/>. Not for concurrent use: a host's nodes share one thread.
/// </summary>
public sealed class RingLayouts
{
    /// <summary>Most layouts kept.</summary>
    public const int EntriesMax = 4;

    // Most recently used last.
    private readonly List<Entry> _entries = [];

    /// <summary>Layouts taken from here instead of laid out (tests, benchmarks).</summary>
    public long Hits { get; private set; }

    /// <summary>Layouts held now.</summary>
    public int Count => _entries.Count;

    internal (ulong[] Positions, int[] Owners)? Find(
        NodeId[] nodes, int virtualNodesPerNode, Func<NodeId, int, ulong[]> placement)
    {
        for (var i = _entries.Count - 1; i >= 0; i--)
        {
            var entry = _entries[i];
            if (entry.VirtualNodesPerNode == virtualNodesPerNode && entry.Placement == placement
                && (ReferenceEquals(entry.Nodes, nodes) || entry.Nodes.AsSpan().SequenceEqual(nodes)))
            {
                _entries.RemoveAt(i);
                _entries.Add(entry);
                Hits++;
                return (entry.Positions, entry.Owners);
            }
        }

        return null;
    }

    internal void Add(NodeId[] nodes, int virtualNodesPerNode, Func<NodeId, int, ulong[]> placement,
        ulong[] positions, int[] owners)
    {
        if (_entries.Count >= EntriesMax)
        {
            _entries.RemoveAt(0);
        }

        _entries.Add(new Entry(nodes, virtualNodesPerNode, placement, positions, owners));
    }

    private sealed record Entry(NodeId[] Nodes, int VirtualNodesPerNode, Func<NodeId, int, ulong[]> Placement,
        ulong[] Positions, int[] Owners);
}
