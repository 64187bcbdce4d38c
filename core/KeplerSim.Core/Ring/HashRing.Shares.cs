using KeplerSim.Core.Runtime;

namespace KeplerSim.Core.Ring;

public sealed partial class HashRing
{
    private const double RingSize = 18446744073709551616.0; // 2^64

    /// <summary>
    /// Each node's expected share of stored replicas: the fraction of the ring (and so of uniformly hashed chunks)
    /// for which it is one of the owners. Values sum to <see cref="OwnerCount"/>; sorted by node id.
    /// </summary>
    public IReadOnlyDictionary<NodeId, double> Shares() => SharesOfFirst(OwnerCount);

    /// <summary>
    /// Each node's share of the ring as primary owner (first clockwise). Values sum to 1 (or the ring is empty);
    /// sorted by node id.
    /// </summary>
    public IReadOnlyDictionary<NodeId, double> PrimaryShares() => SharesOfFirst(Math.Min(1, OwnerCount));

    // Each arc (previous position, position] belongs to the owners walked from the virtual node that ends it.
    private SortedDictionary<NodeId, double> SharesOfFirst(int owners)
    {
        var arcs = new UInt128[_nodes.Length];
        Span<int> found = stackalloc int[RingOptions.ReplicationFactorMax];
        found = found[..owners];
        var positions = Layout.Positions;
        for (var i = 0; i < positions.Length; i++)
        {
            UInt128 arc = i == 0
                ? ((UInt128)1 << 64) - positions[^1] + positions[0]
                : positions[i] - positions[i - 1];
            if (arc == 0)
            {
                continue;
            }

            WalkFrom(i, found);
            foreach (var owner in found)
            {
                arcs[owner] += arc;
            }
        }

        var shares = new SortedDictionary<NodeId, double>();
        UInt128 total = 0;
        for (var node = 0; node < _nodes.Length; node++)
        {
            shares.Add(_nodes[node], (double)arcs[node] / RingSize);
            total += arcs[node];
        }

        Invariant.That(total == ((UInt128)owners << 64) || _nodes.Length == 0, "shares do not cover the ring");
        return shares;
    }
}
