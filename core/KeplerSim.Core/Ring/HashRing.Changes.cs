using KeplerSim.Core.Runtime;

namespace KeplerSim.Core.Ring;

/// <summary>A ring derived from another by a membership change, without laying the whole ring out again.</summary>
public sealed partial class HashRing
{
    /// <summary>
    /// A ring over exactly <paramref name="nodes"/> with <paramref name="options"/>, equal in every lookup and in
    /// its layout to <c>new HashRing(nodes, options)</c>. When the virtual node count is unchanged it reuses this
    /// ring's sorted layout: the departed nodes' virtual nodes are dropped and only the newcomers' are placed and
    /// merged in, linear in the ring's size instead of hashing and sorting every virtual node again. A joining
    /// cluster changes every member's view once per member, so a full rebuild made a join of n nodes cost n² sorts
    /// of n × virtual nodes entries (200 nodes: 5 ms per change, 212 CPU s for the first 10 virtual s of
    /// scenarios/bench/cluster-200.yaml; docs/BENCHMARKS.md).
    /// </summary>
    public HashRing WithMembers(IEnumerable<NodeId> nodes, RingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var sorted = SortedDistinct(nodes);
        return options.VirtualNodesPerNode == Options.VirtualNodesPerNode
            ? new HashRing(sorted, options, _placement, _layouts, this)
            : new HashRing(sorted, options, _placement, _layouts);
    }

    /// <summary>
    /// The layout of <paramref name="nodes"/> from <paramref name="from"/>'s: its entries of remaining nodes keep
    /// their order (node indexes are ranks by id, and removing or inserting ids keeps the ranks' order, so equal
    /// positions stay ordered by node), the newcomers' entries are sorted alone, and the two sorted runs merge.
    /// </summary>
    private static (ulong[] Positions, int[] Owners) Relayout(
        HashRing from, NodeId[] nodes, Func<NodeId, int, ulong[]> placement)
    {
        var virtualNodes = from.Options.VirtualNodesPerNode;
        var old = from.Layout;
        var (newIndex, added) = MapIndexes(from._nodes, nodes);
        var keptCount = 0;
        foreach (var owner in old.Owners)
        {
            keptCount += newIndex[owner] >= 0 ? 1 : 0;
        }

        var fresh = new UInt128[added.Count * virtualNodes];
        for (var a = 0; a < added.Count; a++)
        {
            var placed = placement(nodes[added[a]], virtualNodes);
            Invariant.That(placed.Length == virtualNodes, "placement returned the wrong number of positions");
            for (var v = 0; v < virtualNodes; v++)
            {
                fresh[(a * virtualNodes) + v] = ((UInt128)placed[v] << 32) | (uint)added[a];
            }
        }

        Array.Sort(fresh);
        var positions = new ulong[keptCount + fresh.Length];
        var owners = new int[positions.Length];
        int i = 0, f = 0, o = 0;
        while (o < positions.Length)
        {
            while (i < old.Owners.Length && newIndex[old.Owners[i]] < 0)
            {
                i++; // A departed node's virtual node.
            }

            var takeOld = i < old.Owners.Length && (f == fresh.Length
                || ((UInt128)old.Positions[i] << 32 | (uint)newIndex[old.Owners[i]]) < fresh[f]);
            if (takeOld)
            {
                (positions[o], owners[o]) = (old.Positions[i], newIndex[old.Owners[i]]);
                i++;
            }
            else
            {
                (positions[o], owners[o]) = ((ulong)(fresh[f] >> 32), (int)(uint)fresh[f]);
                f++;
            }

            o++;
        }

        return (positions, owners);
    }

    /// <summary>
    /// For each node of <paramref name="before"/> its index in <paramref name="after"/> (-1: gone), and the indexes
    /// in <paramref name="after"/> of the nodes <paramref name="before"/> lacks. Both arrays are sorted and distinct.
    /// </summary>
    private static (int[] NewIndex, List<int> Added) MapIndexes(NodeId[] before, NodeId[] after)
    {
        var newIndex = new int[before.Length];
        var added = new List<int>();
        int b = 0, a = 0;
        while (b < before.Length || a < after.Length)
        {
            var order = b == before.Length ? 1 : a == after.Length ? -1 : before[b].CompareTo(after[a]);
            if (order == 0)
            {
                newIndex[b++] = a++;
            }
            else if (order < 0)
            {
                newIndex[b++] = -1;
            }
            else
            {
                added.Add(a++);
            }
        }

        return (newIndex, added);
    }

    /// <summary>Whether <paramref name="other"/> has exactly this ring's members, options and layout (tests).</summary>
    internal bool SameLayout(HashRing other) =>
        Options.VirtualNodesPerNode == other.Options.VirtualNodesPerNode && OwnerCount == other.OwnerCount
        && _nodes.AsSpan().SequenceEqual(other._nodes)
        && Layout.Positions.AsSpan().SequenceEqual(other.Layout.Positions)
        && Layout.Owners.AsSpan().SequenceEqual(other.Layout.Owners);
}
