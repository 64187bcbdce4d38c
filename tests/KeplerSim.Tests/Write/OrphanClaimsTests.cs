using KeplerSim.Core.Write;

namespace KeplerSim.Tests.Write;

/// <summary>
/// Which writes claim a chunk copy (docs/PROTOCOL.md, "Orphan chunks"), in isolation: a copy is deleted as an orphan
/// only when it was created by a write, every write that stored or counted it was abandoned, and the orphan grace
/// passed since the last abandonment. Only the real-process OrphanTests and the orphan-cleanup scenario reached this
/// class before, so Stryker's node run (which runs neither) left its every boundary unchecked.
/// </summary>
[Trait("Category", "Fast")]
public sealed class OrphanClaimsTests
{
    private const long Grace = 1_000;
    private const long Forget = 10_000;
    private const string A = "aa";
    private const string B = "bb";

    [Fact]
    public void A_created_copy_whose_only_write_was_abandoned_is_due_exactly_at_the_grace()
    {
        var claims = new OrphanClaims();
        claims.Claim(A, "w1", created: true, nowMicroseconds: 0);
        Assert.Equal(1, claims.Count);
        Assert.True(claims.IsClaimedBy(A, "w1"));
        Assert.False(claims.IsClaimedBy(A, "w2"));
        Assert.Empty(claims.Due(5 * Grace, Grace, Forget)); // Claimed, not abandoned: never due.

        claims.Abandon(A, "w1", nowMicroseconds: 100);
        Assert.False(claims.IsClaimedBy(A, "w1"));
        Assert.Empty(claims.Due(100 + Grace - 1, Grace, Forget));
        Assert.Equal([A], claims.Due(100 + Grace, Grace, Forget));
        Assert.Equal(1, claims.Count); // Due does not forget it: the collector untracks what it handled.
    }

    [Fact]
    public void A_copy_this_node_had_before_the_write_is_never_tracked()
    {
        var claims = new OrphanClaims();
        claims.Claim(A, "w1", created: false, nowMicroseconds: 0);
        claims.Abandon(A, "w1", nowMicroseconds: 0);
        Assert.Equal(0, claims.Count);
        Assert.False(claims.IsClaimedBy(A, "w1"));
        Assert.Empty(claims.Due(10 * Grace, Grace, Forget));
    }

    [Fact]
    public void A_copy_another_write_also_counted_stays_until_that_write_is_abandoned_too()
    {
        var claims = new OrphanClaims();
        claims.Claim(A, "w1", created: true, nowMicroseconds: 0);
        claims.Claim(A, "w2", created: false, nowMicroseconds: 50); // A second write found the copy and counted it.
        Assert.True(claims.IsClaimedBy(A, "w2"));

        claims.Abandon(A, "w1", nowMicroseconds: 100);
        Assert.Empty(claims.Due(100 + 5 * Grace, Grace, Forget)); // w2 may still acknowledge with this copy.

        claims.Abandon(A, "w2", nowMicroseconds: 200);
        Assert.Empty(claims.Due(200 + Grace - 1, Grace, Forget)); // The grace runs from the last abandonment.
        Assert.Equal([A], claims.Due(200 + Grace, Grace, Forget));
    }

    [Fact]
    public void An_abandonment_by_a_write_that_never_claimed_the_copy_changes_nothing()
    {
        var claims = new OrphanClaims();
        claims.Claim(A, "w1", created: true, nowMicroseconds: 0);
        claims.Abandon(A, "other", nowMicroseconds: 0);
        claims.Abandon(B, "w1", nowMicroseconds: 0); // Not tracked at all.
        Assert.True(claims.IsClaimedBy(A, "w1"));
        Assert.Empty(claims.Due(Forget - 1, Grace, Forget));
        Assert.Equal(1, claims.Count);
    }

    [Fact]
    public void A_repair_or_a_delivery_without_a_write_stops_the_tracking_for_good()
    {
        var claims = new OrphanClaims();
        claims.Claim(A, "w1", created: true, nowMicroseconds: 0);
        claims.Claim(B, "w1", created: true, nowMicroseconds: 0);
        claims.Claim(A, requestId: null, created: false, nowMicroseconds: 10);
        claims.Untrack(B);
        Assert.Equal(0, claims.Count);

        // A later write's claim does not bring it back (the copy was not created by that write).
        claims.Claim(A, "w2", created: false, nowMicroseconds: 20);
        claims.Abandon(A, "w2", nowMicroseconds: 20);
        Assert.Empty(claims.Due(20 + Grace, Grace, Forget));
        Assert.Equal(0, claims.Count);
    }

    [Fact]
    public void A_claim_left_open_is_forgotten_exactly_at_the_forget_horizon_from_its_last_claim()
    {
        var claims = new OrphanClaims();
        claims.Claim(A, "w1", created: true, nowMicroseconds: 0);
        claims.Claim(B, "w1", created: true, nowMicroseconds: 0);
        claims.Claim(B, "w2", created: false, nowMicroseconds: 500); // A later claim moves B's horizon.

        Assert.Empty(claims.Due(Forget - 1, Grace, Forget));
        Assert.Equal(2, claims.Count);
        Assert.Empty(claims.Due(Forget, Grace, Forget)); // A's writer never said anything: left to the gc grace.
        Assert.Equal(1, claims.Count);
        Assert.False(claims.IsClaimedBy(A, "w1"));
        Assert.True(claims.IsClaimedBy(B, "w1"));
        Assert.Empty(claims.Due(500 + Forget - 1, Grace, Forget));
        Assert.Equal(1, claims.Count);
        Assert.Empty(claims.Due(500 + Forget, Grace, Forget));
        Assert.Equal(0, claims.Count);
    }

    [Fact]
    public void Due_chunks_come_in_id_order()
    {
        var claims = new OrphanClaims();
        foreach (var id in new[] { "cc", A, B })
        {
            claims.Claim(id, "w1", created: true, nowMicroseconds: 0);
            claims.Abandon(id, "w1", nowMicroseconds: 0);
        }

        Assert.Equal([A, B, "cc"], claims.Due(Grace, Grace, Forget));
    }

    [Fact]
    public void At_most_tracked_max_chunks_are_tracked_and_the_rest_are_left_to_the_gc_grace()
    {
        var claims = new OrphanClaims();
        for (var i = 0; i < OrphanClaims.TrackedMax; i++)
        {
            claims.Claim($"{i:x8}", "w1", created: true, nowMicroseconds: 0);
        }

        Assert.Equal(OrphanClaims.TrackedMax, claims.Count);
        claims.Claim("ffffffffff", "w1", created: true, nowMicroseconds: 0);
        Assert.Equal(OrphanClaims.TrackedMax, claims.Count);
        Assert.False(claims.IsClaimedBy("ffffffffff", "w1"));
        // A chunk already tracked still takes more claims at the limit.
        claims.Claim($"{0:x8}", "w2", created: false, nowMicroseconds: 0);
        Assert.True(claims.IsClaimedBy($"{0:x8}", "w2"));
    }
}
