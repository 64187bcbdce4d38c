using KeplerSim.Core.Diagnostics;

namespace KeplerSim.Core.Security;

/// <summary>What the cluster key dropped: a datagram, or a frame (which also closes its connection).</summary>
public enum AuthDropKind
{
    /// <summary>A gossip datagram.</summary>
    Datagram,
    /// <summary>A transfer frame (handshake or data); its connection is closed.</summary>
    Frame,
}

/// <summary>Why the cluster key dropped a datagram or frame.</summary>
public enum AuthDropReason
{
    /// <summary>Too short, or its sealed contents do not parse.</summary>
    Malformed,
    /// <summary>An unknown wire version (a node without a key sends plain messages).</summary>
    Version,
    /// <summary>Sealed with a key that is not installed here.</summary>
    UnknownKey,
    /// <summary>Failed authentication: forged, altered, truncated, or (a frame) replayed or reordered.</summary>
    Forged,
    /// <summary>A datagram sent too long ago or too far in the future (the replay time bound).</summary>
    Stale,
    /// <summary>A datagram seen before, or from an older incarnation of its sender.</summary>
    Replay,
}

/// <summary>The cluster key dropped a datagram or a frame (kind <c>auth.datagram.replay</c> and so on).</summary>
public sealed record AuthDropped(string DropKind, string Reason) : KeplerEvent
{
    /// <inheritdoc />
    public override string Kind => $"auth.{DropKind}.{Reason}";
}

/// <summary>
/// Counters of what the cluster key dropped, by kind and reason; each drop is also published as an
/// <see cref="AuthDropped"/> event (the simulator counts those across restarts). Touched only on the node's thread.
/// </summary>
public sealed class AuthCounters(IEventPublisher? events = null)
{
    private static readonly AuthDropKind[] Kinds = Enum.GetValues<AuthDropKind>();
    private static readonly AuthDropReason[] Reasons = Enum.GetValues<AuthDropReason>();
    private readonly long[] _dropped = new long[Kinds.Length * Reasons.Length];

    /// <summary>Counts one drop.</summary>
    public void Drop(AuthDropKind kind, AuthDropReason reason)
    {
        _dropped[Index(kind, reason)]++;
        events?.Publish(new AuthDropped(Label(kind.ToString()), Label(reason.ToString())));
    }

    /// <summary>Drops of one kind and reason.</summary>
    public long Dropped(AuthDropKind kind, AuthDropReason reason) => _dropped[Index(kind, reason)];

    /// <summary>Drops of one kind, every reason.</summary>
    public long Dropped(AuthDropKind kind) => Reasons.Sum(r => Dropped(kind, r));

    /// <summary>Every counter (zeros too) in a fixed order, with the labels <c>/metrics</c> uses.</summary>
    public IEnumerable<(string Kind, string Reason, long Count)> All() =>
        from kind in Kinds
        from reason in Reasons
        select (Label(kind.ToString()), Label(reason.ToString()), Dropped(kind, reason));

    private static int Index(AuthDropKind kind, AuthDropReason reason) => (int)kind * Reasons.Length + (int)reason;

    /// <summary>UnknownKey → unknown_key.</summary>
    private static string Label(string name) => string.Concat(name.Select((c, i) =>
        char.IsUpper(c) ? (i > 0 ? "_" : "") + char.ToLowerInvariant(c) : c.ToString()));
}
