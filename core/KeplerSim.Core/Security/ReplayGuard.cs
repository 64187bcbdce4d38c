namespace KeplerSim.Core.Security;

/// <summary>
/// The datagram replay rule (docs/PROTOCOL.md, "Cluster key"). Each sender numbers its datagrams within an
/// incarnation: (boot stamp, prefix) names the incarnation (a new one at every start, and when the counter runs
/// out), the counter grows by one per datagram. A receiver keeps, per sender, the newest incarnation seen, the
/// highest counter and a 64-datagram sliding window (as IPsec and WireGuard do), so a datagram is accepted once;
/// one of an older incarnation is refused. The time bound (<see cref="AgeMaxMicroseconds"/>) refuses what was
/// captured long ago, which also covers a receiver that restarted and forgot its windows.
/// </summary>
internal sealed class ReplayGuard
{
    /// <summary>
    /// Largest difference between a datagram's send time (sender's wall clock) and the receiver's wall clock.
    /// Generous: clocks of a cluster agree within this (NTP), and simulated skews and jumps stay well inside it.
    /// </summary>
    public const long AgeMaxMicroseconds = 120_000_000;

    /// <summary>Senders remembered at once; the least recently heard one is forgotten first.</summary>
    public const int SendersMax = 4096;

    /// <summary>Counters below the highest that are still accepted once (reordered datagrams).</summary>
    public const int WindowSize = 64;

    private readonly Dictionary<string, SenderState> _senders = new(StringComparer.Ordinal);

    /// <summary>
    /// Whether to accept a datagram; records it when accepted. <paramref name="nowMonotonic"/> orders senders for
    /// forgetting; <paramref name="nowWall"/> is compared with <paramref name="sentAt"/>.
    /// </summary>
    public AuthDropReason? Check(string sender, Incarnation incarnation, uint counter, long sentAt, long nowWall,
        long nowMonotonic)
    {
        if (Math.Abs(sentAt - nowWall) > AgeMaxMicroseconds)
        {
            return AuthDropReason.Stale;
        }

        if (!_senders.TryGetValue(sender, out var state)
            || incarnation.CompareTo(state.Incarnation) > 0
            || nowMonotonic - state.HeardAt > 2 * AgeMaxMicroseconds)
        {
            // A new sender, a newer incarnation (it restarted), or one silent for longer than anything the time
            // bound lets through (so a clock stepped back across a restart heals after this long).
            Remember(sender, new SenderState(incarnation, counter, 1, nowMonotonic));
            return null;
        }

        if (incarnation.CompareTo(state.Incarnation) < 0)
        {
            return AuthDropReason.Replay;
        }

        if (counter > state.Highest)
        {
            var shift = counter - state.Highest;
            var window = shift >= WindowSize ? 1UL : (state.Window << (int)shift) | 1UL;
            _senders[sender] = new SenderState(incarnation, counter, window, nowMonotonic);
            return null;
        }

        var age = state.Highest - counter;
        if (age >= WindowSize || (state.Window & (1UL << (int)age)) != 0)
        {
            return AuthDropReason.Replay;
        }

        _senders[sender] = state with { Window = state.Window | (1UL << (int)age), HeardAt = nowMonotonic };
        return null;
    }

    private void Remember(string sender, SenderState state)
    {
        if (!_senders.ContainsKey(sender) && _senders.Count >= SendersMax)
        {
            // Forget the least recently heard sender (ties by id, so the choice never depends on hash order).
            var oldest = _senders.MinBy(p => (p.Value.HeardAt, p.Key), SenderOrder.Instance).Key;
            _senders.Remove(oldest);
        }

        _senders[sender] = state;
    }

    private readonly record struct SenderState(Incarnation Incarnation, uint Highest, ulong Window, long HeardAt);

    private sealed class SenderOrder : IComparer<(long HeardAt, string Id)>
    {
        public static readonly SenderOrder Instance = new();

        public int Compare((long HeardAt, string Id) x, (long HeardAt, string Id) y) =>
            x.HeardAt != y.HeardAt ? x.HeardAt.CompareTo(y.HeardAt) : string.CompareOrdinal(x.Id, y.Id);
    }
}

/// <summary>One sender's numbering of its datagrams: when it began (sender's wall clock) and a random prefix.</summary>
internal readonly record struct Incarnation(long BootStamp, ulong Prefix) : IComparable<Incarnation>
{
    public int CompareTo(Incarnation other) =>
        BootStamp != other.BootStamp ? BootStamp.CompareTo(other.BootStamp) : Prefix.CompareTo(other.Prefix);
}
