using CsCheck;
using KeplerSim.Core.Ring;
using KeplerSim.Core.Runtime;

namespace KeplerSim.Tests.Ring;

/// <summary>
/// Rings sharing a <see cref="RingLayouts"/> (the simulator's nodes all share one) take an equal layout from it
/// instead of laying out their own; a ring must still be exactly the ring built from scratch over its members,
/// never one of other members, virtual nodes or placement, and the cache stays bounded.
/// </summary>
[Trait("Category", "Fast")]
public sealed class RingLayoutsTests
{
    private static readonly NodeId[] Universe = Enumerable.Range(0, 30).Select(i => new NodeId($"n{i}")).ToArray();

    private static readonly Gen<NodeId[]> Subset =
        Gen.Bool.Array[Universe.Length].Select(pick => Universe.Where((_, i) => pick[i]).ToArray());

    [Fact]
    public void Rings_of_several_nodes_sharing_layouts_are_the_rings_built_from_scratch()
    {
        // Three "nodes" walk their own chains of views over one cache, looking their rings up in any order.
        Gen.Select(Subset.Array[3, 6], Gen.Int[1, 16], Gen.Int[0, 5]).Sample(sample =>
        {
            var (views, virtualNodes, shift) = sample;
            var options = new RingOptions(virtualNodes, 3);
            var layouts = new RingLayouts();
            var rings = new List<(HashRing Ring, NodeId[] View)>();
            for (var node = 0; node < 3; node++)
            {
                var ring = new HashRing(views[(node + shift) % views.Length], options, layouts);
                for (var i = 0; i < views.Length; i++)
                {
                    var view = views[(node + shift + i) % views.Length];
                    ring = ring.WithMembers(view, options);
                    rings.Add((ring, view));
                    if ((i + node) % 2 == 0)
                    {
                        _ = ring.VirtualNodeCount; // Lays it out now, into the cache.
                    }
                }
            }

            foreach (var (ring, view) in rings)
            {
                Assert.True(ring.SameLayout(new HashRing(view, options)), $"{view.Length} members");
            }

            Assert.InRange(layouts.Count, 1, RingLayouts.EntriesMax);
        }, iter: 200);
    }

    [Fact]
    public void A_second_ring_over_the_same_members_takes_the_first_ones_layout()
    {
        var layouts = new RingLayouts();
        var options = new RingOptions(16, 3);
        var first = new HashRing(Universe[..10], options, layouts);
        Assert.Equal(160, first.VirtualNodeCount);
        Assert.Equal(0, layouts.Hits);
        var second = new HashRing(Universe[5..10].Concat(Universe[..5]), options, layouts);
        Assert.Equal(160, second.VirtualNodeCount);
        Assert.Equal(1, layouts.Hits);
        Assert.True(second.SameLayout(new HashRing(Universe[..10], options)));
    }

    [Fact]
    public void Rings_of_other_members_virtual_nodes_or_placement_do_not_take_a_cached_layout()
    {
        var layouts = new RingLayouts();
        var options = new RingOptions(8, 3);
        _ = new HashRing(Universe[..6], options, layouts).VirtualNodeCount;
        static ulong[] Spread(NodeId node, int count) =>
            Enumerable.Range(0, count).Select(i => (ulong)(node.Value.Length * 1000 + i)).ToArray();
        (HashRing Ring, HashRing Scratch)[] others =
        [
            (new HashRing(Universe[..7], options, layouts), new HashRing(Universe[..7], options)),
            (new HashRing(Universe[..6], new RingOptions(9, 3), layouts),
                new HashRing(Universe[..6], new RingOptions(9, 3))),
            (HashRing.WithPlacement(Universe[..6], options, Spread, layouts),
                HashRing.WithPlacement(Universe[..6], options, Spread)),
        ];
        foreach (var (ring, scratch) in others)
        {
            Assert.True(ring.SameLayout(scratch));
        }

        Assert.Equal(0, layouts.Hits);
        Assert.Equal(RingLayouts.EntriesMax, layouts.Count);
        _ = new HashRing(Universe[..5], options, layouts).VirtualNodeCount; // A fifth: the oldest goes.
        Assert.Equal(RingLayouts.EntriesMax, layouts.Count);
        _ = new HashRing(Universe[..6], options, layouts).VirtualNodeCount;
        Assert.Equal(0, layouts.Hits); // The first layout was the least recently used: dropped.
        _ = new HashRing(Universe[..5], options, layouts).VirtualNodeCount;
        Assert.Equal(1, layouts.Hits);
    }
}
