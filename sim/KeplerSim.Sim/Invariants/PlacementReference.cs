using System.IO.Hashing;
using System.Numerics;
using System.Text;

namespace KeplerSim.Sim.Invariants;

/// <summary>
/// The checkers' own owner computation, written from the ring's specification and sharing no code with core's
/// <c>HashRing</c>, so a placement bug in core cannot look correct to the checkers. Brute force on purpose:
/// <list type="bullet">
/// <item>A node with id <c>s</c> has <c>v</c> virtual nodes, one per stratum <c>k</c> of the 64-bit circle cut into
/// <c>v</c> equal strata (stratum <c>k</c> starts at <c>floor(k · 2^64 / v)</c>). For the lower half of the strata
/// (<c>k &lt; ceil(v / 2)</c>) the position is the stratum's start plus <c>floor(h · width / 2^64)</c>, where
/// <c>h</c> is XxHash3-64 of the UTF-8 id with seed <c>0x4B52494E47504C41 + k</c>; stratum <c>k</c> of the upper
/// half mirrors stratum <c>v − 1 − k</c>: position <c>2^64 − 1 − p</c>.</item>
/// <item>A chunk's position is the first 16 hex digits of its id, read as a big-endian 64-bit number.</item>
/// <item>Its owners are the first <c>min(N, nodes)</c> distinct nodes met walking clockwise from the first virtual
/// node at or after that position (wrapping around); virtual nodes at one position are met in node id order
/// (ordinal).</item>
/// </list>
/// </summary>
public sealed class PlacementReference
{
    private const ulong PlacementSeed = 0x4B52_494E_4750_4C41UL;
    private static readonly BigInteger Circle = BigInteger.One << 64;

    private readonly List<(ulong Position, string Node)> _virtualNodes = [];
    private readonly ulong[] _positions;

    /// <summary>A ring over <paramref name="nodes"/> (a set) with <paramref name="virtualNodes"/> each and
    /// <paramref name="replicationFactor"/> owners per chunk (fewer when there are fewer nodes).</summary>
    public PlacementReference(IEnumerable<string> nodes, int virtualNodes, int replicationFactor)
        : this(nodes, virtualNodes, replicationFactor, node => PositionsOf(node, virtualNodes))
    {
    }

    /// <summary>As above, with each node's virtual node positions from <paramref name="positionsOf"/> (a cache of
    /// <see cref="PositionsOf"/>).</summary>
    public PlacementReference(IEnumerable<string> nodes, int virtualNodes, int replicationFactor,
        Func<string, IReadOnlyList<ulong>> positionsOf)
    {
        ArgumentNullException.ThrowIfNull(nodes);
        ArgumentNullException.ThrowIfNull(positionsOf);
        ArgumentOutOfRangeException.ThrowIfLessThan(virtualNodes, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(replicationFactor, 1);
        Nodes = nodes.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        OwnerCount = Math.Min(replicationFactor, Nodes.Count);
        foreach (var node in Nodes)
        {
            var positions = positionsOf(node);
            if (positions.Count != virtualNodes)
            {
                throw new ArgumentException($"{positions.Count} positions for {node}, expected {virtualNodes}",
                    nameof(positionsOf));
            }

            _virtualNodes.AddRange(positions.Select(p => (p, node)));
        }

        _virtualNodes.Sort((a, b) => a.Position != b.Position ? a.Position.CompareTo(b.Position)
            : string.CompareOrdinal(a.Node, b.Node));
        _positions = _virtualNodes.Select(v => v.Position).ToArray();
    }

    /// <summary>The members, ordered by id.</summary>
    public IReadOnlyList<string> Nodes { get; }

    /// <summary>Owners per chunk.</summary>
    public int OwnerCount { get; }

    /// <summary>The virtual node positions of <paramref name="node"/>, stratum by stratum.</summary>
    public static IReadOnlyList<ulong> PositionsOf(string node, int virtualNodes)
    {
        ArgumentNullException.ThrowIfNull(node);
        var id = Encoding.UTF8.GetBytes(node);
        var positions = new ulong[virtualNodes];
        var hashed = (virtualNodes + 1) / 2;
        for (var k = 0; k < virtualNodes; k++)
        {
            if (k >= hashed)
            {
                positions[k] = ulong.MaxValue - positions[virtualNodes - 1 - k];
                continue;
            }

            var start = Circle * k / virtualNodes;
            var width = Circle * (k + 1) / virtualNodes - start;
            var hash = XxHash3.HashToUInt64(id, unchecked((long)(PlacementSeed + (ulong)k)));
            positions[k] = (ulong)(start + hash * width / Circle);
        }

        return positions;
    }

    /// <summary>The position of a chunk: the first 16 hex digits of its id.</summary>
    public static ulong PositionOf(string chunkId)
    {
        ArgumentNullException.ThrowIfNull(chunkId);
        return ulong.Parse(chunkId.AsSpan(0, 16), System.Globalization.NumberStyles.AllowHexSpecifier,
            System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>The owners of <paramref name="chunkId"/>, in walk order.</summary>
    public IReadOnlyList<string> OwnersOf(string chunkId) => OwnersAt(PositionOf(chunkId));

    /// <summary>The owners of a ring position, in walk order.</summary>
    public IReadOnlyList<string> OwnersAt(ulong position)
    {
        var owners = new List<string>(OwnerCount);
        if (OwnerCount == 0)
        {
            return owners;
        }

        // The first virtual node at or after the position: the lowest index whose position is >= it.
        var start = Array.BinarySearch(_positions, position);
        if (start < 0)
        {
            start = ~start;
        }

        while (start > 0 && _positions[start - 1] == position)
        {
            start--;
        }

        for (var step = 0; step < _virtualNodes.Count && owners.Count < OwnerCount; step++)
        {
            var node = _virtualNodes[(start + step) % _virtualNodes.Count].Node;
            if (!owners.Contains(node, StringComparer.Ordinal))
            {
                owners.Add(node);
            }
        }

        return owners;
    }
}
