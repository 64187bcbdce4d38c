using KeplerSim.Core.Node;
using KeplerSim.Core.Runtime;

namespace KeplerSim.Tests.Node;

/// <summary>A view changed one member at a time equals the view built from its members.</summary>
[Trait("Category", "Fast")]
public sealed class ClusterViewTests
{
    private static Member M(string id, int port = 7946) =>
        new(new NodeId(id), new NetAddress(id, port), new NetAddress(id, port + 1));

    [Fact]
    public void Adding_and_removing_members_keeps_the_view_sorted_and_equal_to_a_fresh_one()
    {
        var view = new ClusterView([M("n5"), M("n1")]);
        view = view.With(M("n3")).With(M("n10")).With(M("a")).Without(new NodeId("n5")).With(M("z"));

        Assert.Equal(["a", "n1", "n10", "n3", "z"], view.Ids.Select(id => id.Value));
        Assert.Equal(new ClusterView([M("z"), M("n3"), M("n10"), M("n1"), M("a")]).Members, view.Members);
        Assert.Null(view.Find(new NodeId("n5")));
        Assert.Equal(M("n10"), view.Find(new NodeId("n10")));
    }

    [Fact]
    public void With_replaces_a_members_addresses_and_leaves_the_old_view_as_it_was()
    {
        var before = new ClusterView([M("n1"), M("n2")]);
        var after = before.With(M("n2", 9000));

        Assert.Equal(2, after.Members.Count);
        Assert.Equal(9000, after.Find(new NodeId("n2"))!.GossipAddress.Port);
        Assert.Equal(7946, before.Find(new NodeId("n2"))!.GossipAddress.Port);
        Assert.Same(before, before.Without(new NodeId("n9")));
    }

    [Fact]
    public void A_member_listed_twice_is_refused()
    {
        var error = Assert.Throws<ArgumentException>(() => new ClusterView([M("n1"), M("n2"), M("n1", 9000)]));
        Assert.Contains("n1 is listed twice", error.Message, StringComparison.Ordinal);
    }
}
