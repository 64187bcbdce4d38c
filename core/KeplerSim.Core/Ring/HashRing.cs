using KeplerSim.Core.Runtime;

namespace KeplerSim.Core.Ring;

/// <summary>
/// An immutable consistent-hash ring. Each node takes <see cref="RingOptions.VirtualNodesPerNode"/> positions
/// derived from its id alone; a chunk's owners are the first N distinct nodes clockwise of its position, where
/// N is the replication factor (all nodes when there are fewer). A key at exactly a virtual node's position
/// belongs to that virtual node.
/// </summary>
/// <remarks>
/// The ring depends on the set of nodes only, never on the order they were added, so every member computes the
/// same owners from the same membership view. Virtual nodes at the same position are ordered by node id
/// (ordinal). Lookups binary-search a sorted position array: O(log(nodes × virtual nodes)) plus a short walk.
/// </remarks>
public sealed partial class HashRing
{
    /// <summary>Most nodes a ring may hold.</summary>
    public const int NodesMax = 1024;

    private readonly Func<NodeId, int, ulong[]> _placement;
    // Distinct, sorted ordinally: a node's index here is its rank by id, which breaks position ties.
    private readonly NodeId[] _nodes;
    // The virtual nodes, laid out on first use (see Layout).
    private VirtualNodes? _layout;
    // A laid-out ring this one was derived from by a membership change (null: lay out from scratch).
    private HashRing? _base;
    // Where an equal layout may already be (null: none shared).
    private readonly RingLayouts? _layouts;

    /// <summary>Builds a ring over <paramref name="nodes"/> (a set: duplicates count once); it and the rings
    /// derived from it take their layouts from <paramref name="layouts"/> when an equal one is there.</summary>
    /// <exception cref="ArgumentException">A node id is null or empty, or there are more than
    /// <see cref="NodesMax"/> nodes.</exception>
    public HashRing(IEnumerable<NodeId> nodes, RingOptions? options = null, RingLayouts? layouts = null)
        : this(SortedDistinct(nodes), options ?? RingOptions.Default, VirtualNodePlacement.PositionsOf, layouts)
    {
    }

    /// <summary>
    /// A ring over <paramref name="sortedNodes"/>; with <paramref name="from"/> (same virtual node count) its layout
    /// is derived from that ring's when first needed, else laid out from scratch.
    /// </summary>
    private HashRing(NodeId[] sortedNodes, RingOptions options, Func<NodeId, int, ulong[]> placement,
        RingLayouts? layouts, HashRing? from = null)
    {
        if (sortedNodes.Length > NodesMax)
        {
            throw new ArgumentException($"{sortedNodes.Length} nodes: at most {NodesMax}", "nodes");
        }

        Options = options;
        _placement = placement;
        _layouts = layouts;
        _nodes = sortedNodes;
        Nodes = Array.AsReadOnly(sortedNodes);
        OwnerCount = Math.Min(options.ReplicationFactor, sortedNodes.Length);
        // Derived from the nearest laid-out ring, so no chain of unused rings stays reachable.
        _base = from is null ? null : from._layout is not null ? from : from._base;
    }

    /// <summary>
    /// Virtual node positions, ascending (equal positions ordered by node index), and for each the index into
    /// <c>_nodes</c> of its node.
    /// </summary>
    private sealed class VirtualNodes(ulong[] positions, int[] owners)
    {
        public ulong[] Positions { get; } = positions;

        public int[] Owners { get; } = owners;
    }

    /// <summary>
    /// The layout, computed when a lookup first needs it. A joining cluster changes every member's view once per
    /// member, mostly before anything asks who owns a chunk, so most of those rings are never laid out. Computing
    /// it is a pure function of the members and options: when it happens cannot change a result.
    /// </summary>
    private VirtualNodes Layout
    {
        get
        {
            if (_layout is { } layout)
            {
                return layout;
            }

            var virtualNodes = Options.VirtualNodesPerNode;
            if (_layouts?.Find(_nodes, virtualNodes, _placement) is not { } shared)
            {
                shared = _base is { } from
                    ? Relayout(from, _nodes, _placement)
                    : LayOut(_nodes, virtualNodes, _placement);
                _layouts?.Add(_nodes, virtualNodes, _placement, shared.Positions, shared.Owners);
            }

            _layout = new VirtualNodes(shared.Positions, shared.Owners);
            _base = null;
            return _layout;
        }
    }

    /// <summary>The layout options this ring was built with.</summary>
    public RingOptions Options { get; }

    /// <summary>The members, sorted by id (ordinal).</summary>
    public IReadOnlyList<NodeId> Nodes { get; }

    /// <summary>Owners per chunk: the replication factor, or the node count when that is smaller.</summary>
    public int OwnerCount { get; }

    /// <summary>Virtual nodes on the ring: nodes × virtual nodes per node.</summary>
    public int VirtualNodeCount => Layout.Positions.Length;

    /// <summary>An empty ring: every chunk has no owners.</summary>
    public static HashRing Empty(RingOptions? options = null) => new([], options);

    /// <summary>Whether <paramref name="node"/> is a member.</summary>
    public bool Contains(NodeId node) => node.Value is not null && Array.BinarySearch(_nodes, node) >= 0;

    /// <summary>This ring plus <paramref name="node"/>; this ring itself when it is already a member.</summary>
    public HashRing WithNode(NodeId node)
    {
        RequireValid(node);
        var index = Array.BinarySearch(_nodes, node);
        if (index >= 0)
        {
            return this;
        }

        var insertAt = ~index;
        var nodes = new NodeId[_nodes.Length + 1];
        _nodes.AsSpan(0, insertAt).CopyTo(nodes);
        nodes[insertAt] = node;
        _nodes.AsSpan(insertAt).CopyTo(nodes.AsSpan(insertAt + 1));
        return new HashRing(nodes, Options, _placement, _layouts, this);
    }

    /// <summary>This ring without <paramref name="node"/>; this ring itself when it is not a member.</summary>
    public HashRing WithoutNode(NodeId node)
    {
        RequireValid(node);
        var index = Array.BinarySearch(_nodes, node);
        if (index < 0)
        {
            return this;
        }

        var nodes = new NodeId[_nodes.Length - 1];
        _nodes.AsSpan(0, index).CopyTo(nodes);
        _nodes.AsSpan(index + 1).CopyTo(nodes.AsSpan(index));
        return new HashRing(nodes, Options, _placement, _layouts, this);
    }

    /// <summary>
    /// Builds a ring whose virtual node positions come from <paramref name="placement"/> (node, count) instead of
    /// the id hash, so tests can force collisions and other layouts hashing makes rare.
    /// </summary>
    internal static HashRing WithPlacement(IEnumerable<NodeId> nodes, RingOptions options,
        Func<NodeId, int, ulong[]> placement, RingLayouts? layouts = null) =>
        new(SortedDistinct(nodes), options, placement, layouts);

    private static NodeId[] SortedDistinct(IEnumerable<NodeId> nodes)
    {
        ArgumentNullException.ThrowIfNull(nodes);
        var sorted = nodes.ToArray();
        foreach (var node in sorted)
        {
            RequireValid(node);
        }

        Array.Sort(sorted);
        var distinct = 0;
        for (var i = 0; i < sorted.Length; i++)
        {
            if (distinct == 0 || sorted[i].CompareTo(sorted[distinct - 1]) != 0)
            {
                sorted[distinct++] = sorted[i];
            }
        }

        return sorted[..distinct];
    }

    private static void RequireValid(NodeId node)
    {
        if (string.IsNullOrEmpty(node.Value))
        {
            throw new ArgumentException("node id is null or empty", nameof(node));
        }
    }

    private static (ulong[] Positions, int[] Owners) LayOut(
        NodeId[] nodes, int virtualNodesPerNode, Func<NodeId, int, ulong[]> placement)
    {
        // Sorting (position, node index) as one 96-bit key gives a total order: ties go to the lower node id.
        var keys = new UInt128[nodes.Length * virtualNodesPerNode];
        for (var node = 0; node < nodes.Length; node++)
        {
            var placed = placement(nodes[node], virtualNodesPerNode);
            Invariant.That(placed.Length == virtualNodesPerNode, "placement returned the wrong number of positions");
            for (var virtualNode = 0; virtualNode < placed.Length; virtualNode++)
            {
                keys[(node * virtualNodesPerNode) + virtualNode] = ((UInt128)placed[virtualNode] << 32) | (uint)node;
            }
        }

        Array.Sort(keys);
        var positions = new ulong[keys.Length];
        var owners = new int[keys.Length];
        for (var i = 0; i < keys.Length; i++)
        {
            positions[i] = (ulong)(keys[i] >> 32);
            owners[i] = (int)(uint)keys[i];
        }

        return (positions, owners);
    }
}
