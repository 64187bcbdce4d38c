using KeplerSim.Core.Membership;

namespace KeplerSim.Tests.Membership;

/// <summary>
/// Last-writer-wins on (version, origin) is strict: a change never supersedes itself, so the same change arriving
/// twice (by gossip and by a chunk transfer) is not adopted twice. Written for the Stryker survivors of
/// ClusterSettings.cs (<c>&gt;</c> as <c>&gt;=</c> on either key).
/// </summary>
public sealed class ClusterSettingsTests
{
    [Fact]
    public void A_change_supersedes_older_versions_and_lower_origins_but_never_itself()
    {
        var change = new ClusterSettings(3, 2, "n2");
        Assert.True(change.Supersedes(null));
        Assert.True(change.Supersedes(new ClusterSettings(5, 1, "n9")));
        Assert.True(change.Supersedes(new ClusterSettings(5, 2, "n1")));
        Assert.False(change.Supersedes(new ClusterSettings(1, 2, "n2")), "same version and origin: not newer");
        Assert.False(change.Supersedes(change with { }), "a change does not supersede itself");
        Assert.False(change.Supersedes(new ClusterSettings(1, 2, "n3")));
        Assert.False(change.Supersedes(new ClusterSettings(1, 3, "n1")));
    }
}
