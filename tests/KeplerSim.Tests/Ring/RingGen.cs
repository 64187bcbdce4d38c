using System.Buffers.Binary;
using System.Security.Cryptography;
using CsCheck;
using KeplerSim.Core.Ring;
using KeplerSim.Core.Runtime;

namespace KeplerSim.Tests.Ring;

/// <summary>Generators, a brute-force reference model and load statistics shared by the ring tests.</summary>
internal static class RingGen
{
    /// <summary>Distinct random node ids (alphanumeric, 1..12 characters), in generated order.</summary>
    public static Gen<NodeId[]> Nodes(int min, int max) =>
        from count in Gen.Int[min, max]
        from ids in Gen.String[Gen.Char.AlphaNumeric, 1, 12].Array[count + 4]
        let distinct = ids.Distinct(StringComparer.Ordinal).Take(count).Select(id => new NodeId(id)).ToArray()
        where distinct.Length == count
        select distinct;

    /// <summary>A random chunk id: 32 random bytes as 64 lowercase hex characters, like a SHA-256.</summary>
    public static readonly Gen<string> ChunkId = Gen.Byte.Array[32].Select(Convert.ToHexStringLower);

    /// <summary>Real chunk ids: the SHA-256 of (seed, index) for each index; one seed stands for many chunks.</summary>
    public static string[] ChunkIds(ulong seed, int count)
    {
        var content = new byte[16];
        var ids = new string[count];
        BinaryPrimitives.WriteUInt64LittleEndian(content, seed);
        for (var i = 0; i < count; i++)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(content.AsSpan(8), (ulong)i);
            ids[i] = Convert.ToHexStringLower(SHA256.HashData(content));
        }

        return ids;
    }

    /// <summary>The ring positions of <see cref="ChunkIds"/>, through the real chunk-id parser.</summary>
    public static ulong[] ChunkPositions(ulong seed, int count) =>
        Array.ConvertAll(ChunkIds(seed, count), RingPosition.OfChunk);

    /// <summary>
    /// Positions of 100,000 real chunk ids, computed once: hashing them costs more than the ring lookups, and the
    /// statistical tests vary the membership, which is what decides the balance.
    /// </summary>
    public static ulong[] ManyChunkPositions => LazyManyChunkPositions.Value;

    private static readonly Lazy<ulong[]> LazyManyChunkPositions = new(() => ChunkPositions(0x4348554E4B53, 100_000));

    /// <summary>A Fisher–Yates shuffle fixed by <paramref name="seed"/>.</summary>
    public static T[] Shuffled<T>(T[] items, ulong seed)
    {
        var random = new DeterministicRandom(seed);
        var copy = (T[])items.Clone();
        for (var i = copy.Length - 1; i > 0; i--)
        {
            var j = random.NextInt(i + 1);
            (copy[i], copy[j]) = (copy[j], copy[i]);
        }

        return copy;
    }

    /// <summary>Stored replicas per node: over all chunks, each of its N owners counts one.</summary>
    public static SortedDictionary<NodeId, long> ReplicaCounts(HashRing ring, ulong[] chunkPositions)
    {
        // Counted in a hash map for speed; its order never leaves this method.
        var counts = ring.Nodes.ToDictionary(node => node, _ => 0L);
        var owners = new NodeId[ring.OwnerCount];
        foreach (var position in chunkPositions)
        {
            ring.OwnersOf(position, owners);
            foreach (var owner in owners)
            {
                counts[owner]++;
            }
        }

        return new SortedDictionary<NodeId, long>(counts);
    }

    /// <summary>Coefficient of variation: population standard deviation over mean.</summary>
    public static double CoefficientOfVariation(IEnumerable<double> values)
    {
        var all = values.ToArray();
        var mean = all.Average();
        var variance = all.Select(value => (value - mean) * (value - mean)).Average();
        return Math.Sqrt(variance) / mean;
    }

    /// <summary>
    /// Reference model of the owner rule, written the slow and obvious way: list every virtual node, order them by
    /// clockwise distance from the position and then by node id (ordinal), keep the first N distinct nodes.
    /// </summary>
    public static NodeId[] ModelOwners(
        IEnumerable<NodeId> nodes, RingOptions options, Func<NodeId, int, ulong[]> placement, ulong position)
    {
        var members = nodes.Distinct().ToArray();
        var virtualNodes = members
            .SelectMany(node => placement(node, options.VirtualNodesPerNode).Select(at => (At: at, Node: node)))
            .OrderBy(vnode => unchecked(vnode.At - position))
            .ThenBy(vnode => vnode.Node.Value, StringComparer.Ordinal);
        return virtualNodes.Select(vnode => vnode.Node).Distinct()
            .Take(Math.Min(options.ReplicationFactor, members.Length)).ToArray();
    }
}
