using CsCheck;
using KeplerSim.Core.Ring;
using KeplerSim.Core.Runtime;

namespace KeplerSim.Tests.Ring;

/// <summary>
/// A ring derived by a membership change (<see cref="HashRing.WithMembers"/>, <see cref="HashRing.WithNode"/>,
/// <see cref="HashRing.WithoutNode"/>) merges the change into the old layout instead of laying the ring out again;
/// it must be exactly the ring built from scratch, or members with the same view would disagree on owners.
/// </summary>
[Trait("Category", "Fast")]
public sealed class HashRingChangeTests
{
    private static readonly NodeId[] Universe = Enumerable.Range(0, 40).Select(i => new NodeId($"n{i}")).ToArray();

    private static readonly Gen<NodeId[]> Subset =
        Gen.Bool.Array[Universe.Length].Select(pick => Universe.Where((_, i) => pick[i]).ToArray());

    [Fact]
    public void A_changed_ring_is_the_ring_built_from_scratch()
    {
        Gen.Select(Subset, Subset, Gen.Int[1, 64], Gen.Int[1, 5], Gen.Int[1, 5]).Sample(sample =>
        {
            var (before, after, virtualNodes, oldFactor, newFactor) = sample;
            var from = new HashRing(before, new RingOptions(virtualNodes, oldFactor));
            var options = new RingOptions(virtualNodes, newFactor);
            var changed = from.WithMembers(after, options);
            var scratch = new HashRing(after, options);
            Assert.True(changed.SameLayout(scratch),
                $"{before.Length} -> {after.Length} nodes, {virtualNodes} virtual nodes: layouts differ");
            Assert.Equal(scratch.OwnerCount, changed.OwnerCount);
        }, iter: 400);
    }

    [Fact]
    public void A_change_keeps_ties_ordered_by_node_id()
    {
        // Every node's virtual nodes crowd three positions, so nearly every entry ties with another node's.
        static ulong[] Crowded(NodeId node, int count) =>
            Enumerable.Range(0, count).Select(i => (ulong)((node.Value.Length + i) % 3)).ToArray();
        Gen.Select(Subset, Subset, Gen.Int[1, 6]).Sample(sample =>
        {
            var (before, after, virtualNodes) = sample;
            var options = new RingOptions(virtualNodes, 3);
            var from = HashRing.WithPlacement(before, options, Crowded);
            var changed = from.WithMembers(after, options);
            Assert.True(changed.SameLayout(HashRing.WithPlacement(after, options, Crowded)), "tied layouts differ");
            var grown = after.Aggregate(HashRing.WithPlacement([], options, Crowded), (ring, n) => ring.WithNode(n));
            Assert.True(grown.SameLayout(HashRing.WithPlacement(after, options, Crowded)), "grown one at a time");
            var shrunk = before.Aggregate(from, (ring, n) => ring.WithoutNode(n));
            Assert.Equal(0, shrunk.VirtualNodeCount);
        }, iter: 300);
    }

    [Fact]
    public void Rings_laid_out_late_or_out_of_order_along_a_chain_of_changes_are_the_rings_built_from_scratch()
    {
        // Rings are laid out on first lookup, each from the nearest laid-out ring it was derived from: look some up
        // early, some late, some never, in any order, and every one must equal the scratch ring of its members.
        Gen.Select(Subset.Array[2, 8], Gen.Int[1, 32], Gen.Bool.Array[8], Gen.Int[0, 7]).Sample(sample =>
        {
            var (views, virtualNodes, lookNow, lookLastFirst) = sample;
            var options = new RingOptions(virtualNodes, 3);
            var rings = new List<HashRing> { new(views[0], options) };
            for (var i = 1; i < views.Length; i++)
            {
                if (lookNow[i - 1])
                {
                    _ = rings[^1].VirtualNodeCount; // Lays out the previous ring before the next is derived.
                }

                rings.Add(rings[^1].WithMembers(views[i], options));
            }

            var order = Enumerable.Range(0, rings.Count).Select(i => (i + lookLastFirst) % rings.Count);
            foreach (var i in order)
            {
                Assert.True(rings[i].SameLayout(new HashRing(views[i], options)), $"ring {i} of {rings.Count}");
            }
        }, iter: 300);
    }

    [Fact]
    public void A_new_virtual_node_count_lays_the_ring_out_again()
    {
        var from = new HashRing(Universe[..10], new RingOptions(8, 3));
        // Laid out first: a ring derives its layout from the nearest laid-out ring only, so without this the
        // change was laid out from scratch whatever WithMembers chose (its choice's mutants survived).
        Assert.NotEmpty(from.OwnersOf(0UL));
        var changed = from.WithMembers(Universe[5..15], new RingOptions(16, 2));
        Assert.True(changed.SameLayout(new HashRing(Universe[5..15], new RingOptions(16, 2))));
        Assert.Equal(160, changed.VirtualNodeCount);
    }

    /// <summary>The oracle of the tests above can say no: each difference of members, virtual nodes, owner count or
    /// placement makes two rings' layouts differ (its mutants survived while every test expected a yes).</summary>
    [Fact]
    public void Rings_that_differ_in_members_virtual_nodes_owner_count_or_placement_do_not_share_a_layout()
    {
        var ring = new HashRing(Universe[..6], new RingOptions(8, 3));
        Assert.True(ring.SameLayout(new HashRing(Universe[..6], new RingOptions(8, 3))));
        Assert.False(ring.SameLayout(new HashRing(Universe[..7], new RingOptions(8, 3))), "another member");
        Assert.False(ring.SameLayout(new HashRing(Universe[..6], new RingOptions(9, 3))), "more virtual nodes");
        Assert.False(ring.SameLayout(new HashRing(Universe[..6], new RingOptions(8, 2))), "another owner count");
        static ulong[] Spread(NodeId node, int count) =>
            Enumerable.Range(0, count).Select(i => (ulong)(node.Value.Length * 1000 + i)).ToArray();
        Assert.False(ring.SameLayout(HashRing.WithPlacement(Universe[..6], new RingOptions(8, 3), Spread)),
            "another placement");
    }
}
