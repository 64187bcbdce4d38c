using KeplerSim.Core.Runtime;

namespace KeplerSim.Core.Ring;

public sealed partial class HashRing
{
    /// <summary>The owners of a chunk, primary first.</summary>
    /// <exception cref="ArgumentException">The id is not 64 lowercase hex characters.</exception>
    public IReadOnlyList<NodeId> OwnersOf(string chunkId) => OwnersOf(RingPosition.OfChunk(chunkId));

    /// <summary>The owners of a ring position, primary first: the first N distinct nodes clockwise.</summary>
    public IReadOnlyList<NodeId> OwnersOf(ulong position)
    {
        var owners = new NodeId[OwnerCount];
        OwnersOf(position, owners);
        return owners;
    }

    /// <summary>
    /// Writes the owners of a ring position, primary first, into <paramref name="destination"/> without
    /// allocating; returns how many (<see cref="OwnerCount"/>).
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is shorter than
    /// <see cref="OwnerCount"/>.</exception>
    public int OwnersOf(ulong position, Span<NodeId> destination)
    {
        if (destination.Length < OwnerCount)
        {
            throw new ArgumentException(
                $"destination holds {destination.Length} owners: need {OwnerCount}", nameof(destination));
        }

        Span<int> found = stackalloc int[RingOptions.ReplicationFactorMax];
        found = found[..OwnerCount];
        WalkFrom(FirstAtOrAfter(position), found);
        for (var i = 0; i < found.Length; i++)
        {
            destination[i] = _nodes[found[i]];
        }

        return found.Length;
    }

    /// <summary>Whether <paramref name="node"/> is one of the chunk's owners.</summary>
    /// <exception cref="ArgumentException">The id is not 64 lowercase hex characters.</exception>
    public bool IsOwner(NodeId node, string chunkId) => IsOwner(node, RingPosition.OfChunk(chunkId));

    /// <summary>Whether <paramref name="node"/> is one of the owners of a ring position.</summary>
    public bool IsOwner(NodeId node, ulong position)
    {
        if (node.Value is null)
        {
            return false;
        }

        var index = Array.BinarySearch(_nodes, node);
        if (index < 0)
        {
            return false;
        }

        Span<int> found = stackalloc int[RingOptions.ReplicationFactorMax];
        found = found[..OwnerCount];
        WalkFrom(FirstAtOrAfter(position), found);
        return found.Contains(index);
    }

    // Index of the first virtual node at or clockwise after the position (wrapping to 0), by binary search.
    // With equal positions it is the first of them, so ties go to the lower node id.
    private int FirstAtOrAfter(ulong position)
    {
        var positions = Layout.Positions;
        var low = 0;
        var high = positions.Length;
        while (low < high)
        {
            var middle = low + ((high - low) / 2);
            if (positions[middle] < position)
            {
                low = middle + 1;
            }
            else
            {
                high = middle;
            }
        }

        return low == positions.Length ? 0 : low;
    }

    // Fills found with the node indices of the first found.Length distinct nodes from a virtual node onwards.
    // One lap always suffices because every node has a virtual node; the bound keeps a broken ring from spinning.
    private void WalkFrom(int start, Span<int> found)
    {
        var owners = Layout.Owners;
        var filled = 0;
        var index = start;
        for (var step = 0; step < owners.Length && filled < found.Length; step++)
        {
            var owner = owners[index];
            if (!found[..filled].Contains(owner))
            {
                found[filled++] = owner;
            }

            index = index + 1 == owners.Length ? 0 : index + 1;
        }

        Invariant.That(filled == found.Length, "ring walk found fewer distinct owners than the owner count");
    }
}
