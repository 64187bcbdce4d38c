using KeplerSim.Core.Security;

namespace KeplerSim.Tests.Security;

/// <summary>
/// The datagram replay rule on its own (docs/PROTOCOL.md, "Replay rule"): the time bound, the sliding window as the
/// highest counter moves, the forgetting of silent senders and of the least recently heard one, and the order of
/// incarnations. The datagram tests in <see cref="ClusterKeyTests"/> reach it only with a monotonic clock at zero
/// and a window that never slides, so the first mutation run left most of it unchecked.
/// </summary>
[Trait("Category", "Fast")]
public sealed class ReplayGuardTests
{
    private const long Bound = ReplayGuard.AgeMaxMicroseconds;
    private static readonly Incarnation First = new(BootStamp: 1_000, Prefix: 7);

    /// <summary>Checks a datagram sent and received at wall time 0, at monotonic time <paramref name="at"/>.</summary>
    private static AuthDropReason? Check(ReplayGuard guard, string sender, uint counter, long at = 0,
        Incarnation? incarnation = null) =>
        guard.Check(sender, incarnation ?? First, counter, sentAt: 0, nowWall: 0, nowMonotonic: at);

    // Kills in ReplayGuard.cs: 56 'counter + state.Highest', and on 57 the window reset on every advance ('true ?'),
    // 'shift < WindowSize', '& 1UL', '>>' and '>>>': each loses the bits of counters already seen, so a copy of one
    // was delivered again.
    [Fact]
    public void Counters_seen_stay_refused_as_the_highest_moves_on()
    {
        var guard = new ReplayGuard();
        Assert.Null(Check(guard, "n1", 1));
        Assert.Null(Check(guard, "n1", 2));
        Assert.Null(Check(guard, "n1", 3));
        Assert.Equal(AuthDropReason.Replay, Check(guard, "n1", 1));
        Assert.Equal(AuthDropReason.Replay, Check(guard, "n1", 2));
        Assert.Null(Check(guard, "n1", 5));
        Assert.Null(Check(guard, "n1", 4)); // late, not seen yet
        Assert.Equal(AuthDropReason.Replay, Check(guard, "n1", 4));
        Assert.Equal(AuthDropReason.Replay, Check(guard, "n1", 3));
    }

    // Kills in ReplayGuard.cs:57 'false ?' and 'shift > WindowSize': a jump of exactly 64 shifted the old window by
    // 64 & 63 = 0 instead of clearing it, so a fresh counter just below the new highest was refused as a replay.
    [Fact]
    public void A_jump_of_a_whole_window_clears_it()
    {
        var guard = new ReplayGuard();
        Assert.Null(Check(guard, "n1", 1));
        Assert.Null(Check(guard, "n1", 2));
        Assert.Null(Check(guard, "n1", 2 + ReplayGuard.WindowSize));
        Assert.Null(Check(guard, "n1", 1 + ReplayGuard.WindowSize));
        Assert.Equal(AuthDropReason.Replay, Check(guard, "n1", 1 + ReplayGuard.WindowSize));
    }

    // Kills in ReplayGuard.cs:63 'age < WindowSize' (every reordered datagram refused, one 64 or more behind let
    // through by a shifted bit): ClusterKeyTests' window test counted the same totals with it.
    // ('age > WindowSize' is equivalent: at age 64 the shift wraps to bit 0, the highest's own, always set.)
    [Fact]
    public void The_window_reaches_63_behind_the_highest_and_no_further()
    {
        var guard = new ReplayGuard();
        Assert.Null(Check(guard, "n1", 100));
        Assert.Null(Check(guard, "n1", 100 - 63));
        Assert.Equal(AuthDropReason.Replay, Check(guard, "n1", 100 - 63));
        Assert.Equal(AuthDropReason.Replay, Check(guard, "n1", 100 - 64));
        Assert.Equal(AuthDropReason.Replay, Check(guard, "n1", 1));
    }

    // Kills in ReplayGuard.cs:34 'Math.Abs(sentAt - nowWall) >= AgeMaxMicroseconds'.
    [Fact]
    public void A_datagram_exactly_at_the_time_bound_is_accepted_and_one_microsecond_more_is_stale()
    {
        var guard = new ReplayGuard();
        Assert.Null(guard.Check("n1", First, 1, sentAt: 0, nowWall: Bound, nowMonotonic: 0));
        Assert.Null(guard.Check("n2", First, 1, sentAt: Bound, nowWall: 0, nowMonotonic: 0));
        Assert.Equal(AuthDropReason.Stale, guard.Check("n3", First, 1, sentAt: 0, nowWall: Bound + 1, nowMonotonic: 0));
        Assert.Equal(AuthDropReason.Stale, guard.Check("n4", First, 1, sentAt: Bound + 1, nowWall: 0, nowMonotonic: 0));
    }

    // Kills in ReplayGuard.cs:41 'nowMonotonic + state.HeardAt' and '2 / AgeMaxMicroseconds' (a sender was forgotten
    // at once, so any copy of its datagrams was delivered again: the tests above ran at monotonic time 0 only) and
    // '>= 2 * AgeMaxMicroseconds' (forgotten one microsecond early).
    [Fact]
    public void A_sender_is_forgotten_only_after_twice_the_time_bound_of_silence()
    {
        var guard = new ReplayGuard();
        const long heard = 1_000_000_000; // a node up for 1000 s
        Assert.Null(Check(guard, "n1", 1, heard));
        Assert.Equal(AuthDropReason.Replay, Check(guard, "n1", 1, heard + 1));
        Assert.Equal(AuthDropReason.Replay, Check(guard, "n1", 1, heard + 2 * Bound));
        Assert.Null(Check(guard, "n1", 1, heard + 2 * Bound + 1)); // forgotten: heard again (the documented heal)
    }

    // Kills in ReplayGuard.cs: 74 '_senders.ContainsKey(sender)' and '_senders.Count > SendersMax', 78 (Remove
    // dropped: the table grew past its bound), 77 'MaxBy' (the most recently heard was forgotten), and on 91
    // 'false ?' and 'x.HeardAt == y.HeardAt' (the smallest id was forgotten rather than the least recently heard).
    [Fact]
    public void A_full_table_forgets_the_least_recently_heard_sender()
    {
        var guard = new ReplayGuard();
        for (var i = 0; i < ReplayGuard.SendersMax; i++)
        {
            Assert.Null(Check(guard, $"n{ReplayGuard.SendersMax - 1 - i:D4}", 1, at: i)); // n4095 heard first
        }

        Assert.Null(Check(guard, "newcomer", 1, at: ReplayGuard.SendersMax));
        Assert.Equal(AuthDropReason.Replay, Check(guard, "n0000", 1, at: ReplayGuard.SendersMax + 1));
        Assert.Equal(AuthDropReason.Replay, Check(guard, "n4094", 1, at: ReplayGuard.SendersMax + 1));
        Assert.Null(Check(guard, "n4095", 1, at: ReplayGuard.SendersMax + 1)); // forgotten: its copy is new again
    }

    // Kills in ReplayGuard.cs:91 'true ?': senders heard at the same moment were told apart by nothing, and the one
    // enumerated first (inserted first: n4095) was forgotten instead of the smallest id.
    [Fact]
    public void Senders_heard_at_the_same_moment_are_forgotten_by_id()
    {
        var guard = new ReplayGuard();
        for (var i = 0; i < ReplayGuard.SendersMax; i++)
        {
            Assert.Null(Check(guard, $"n{ReplayGuard.SendersMax - 1 - i:D4}", 1, at: 0));
        }

        Assert.Null(Check(guard, "newcomer", 1, at: 1));
        Assert.Equal(AuthDropReason.Replay, Check(guard, "n4095", 1, at: 2));
        Assert.Null(Check(guard, "n0000", 1, at: 2));
    }

    // Kills in ReplayGuard.cs:99 'true ?': with equal boot stamps the prefix was ignored, so a sender's new
    // incarnation was taken for its old one and its first datagram refused as a replay.
    [Fact]
    public void With_equal_boot_stamps_the_prefix_orders_incarnations()
    {
        var guard = new ReplayGuard();
        var older = new Incarnation(BootStamp: 5, Prefix: 1);
        var newer = new Incarnation(BootStamp: 5, Prefix: 2);
        Assert.True(newer.CompareTo(older) > 0);
        Assert.Null(Check(guard, "n1", 1, incarnation: older));
        Assert.Null(Check(guard, "n1", 1, incarnation: newer));
        Assert.Equal(AuthDropReason.Replay, Check(guard, "n1", 2, incarnation: older));
    }
}
