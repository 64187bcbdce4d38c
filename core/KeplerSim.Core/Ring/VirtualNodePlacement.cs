using System.IO.Hashing;
using System.Text;
using KeplerSim.Core.Runtime;

namespace KeplerSim.Core.Ring;

/// <summary>
/// Where a node's virtual nodes sit. Depends on the node id and the virtual node count only, never on the other
/// members: that is what makes a removal move only the removed node's chunks and a join take chunks only for
/// the joining node.
/// </summary>
/// <remarks>
/// Two measures beat independent random positions without giving that up. Stratified: the ring is cut into
/// as many equal strata as the node has virtual nodes and the node takes one hashed point in each, so no node's
/// points bunch up. Mirrored: the points in the upper half are the bitwise complements (the reflection of the
/// ring) of those in the lower half; since every node does the same, the upper half is the mirror image of the
/// lower, and a node's share there is the gaps that follow its points below instead of those that precede them,
/// which are negatively correlated with them when nodes are few.
/// </remarks>
internal static class VirtualNodePlacement
{
    // Separates placement hashes from any other XxHash3 use of a node id. Changing it moves every chunk.
    private const long PlacementSeed = 0x4B52_494E_4750_4C41L;

    /// <summary>The <paramref name="virtualNodes"/> positions of <paramref name="node"/>, stratum by stratum.</summary>
    public static ulong[] PositionsOf(NodeId node, int virtualNodes)
    {
        var id = Encoding.UTF8.GetBytes(node.Value);
        var positions = new ulong[virtualNodes];
        // The lower half of the strata, plus the middle one when the count is odd, is hashed; the rest mirrored.
        var hashed = (virtualNodes + 1) / 2;
        for (var stratum = 0; stratum < hashed; stratum++)
        {
            var start = StratumStart(stratum, virtualNodes);
            var width = StratumStart(stratum + 1, virtualNodes) - start;
            var hash = XxHash3.HashToUInt64(id, PlacementSeed + stratum);
            // Scales the hash into [0, width) without the bias of a modulo.
            var offset = ((UInt128)hash * width) >> 64;
            positions[stratum] = (ulong)(start + offset);
        }

        for (var stratum = hashed; stratum < virtualNodes; stratum++)
        {
            positions[stratum] = ~positions[virtualNodes - 1 - stratum];
        }

        return positions;
    }

    // Start of a stratum in [0, 2^64]; the end of the last one is 2^64, hence UInt128.
    private static UInt128 StratumStart(int stratum, int strata) => ((UInt128)(uint)stratum << 64) / (uint)strata;
}
