using KeplerSim.Core.Runtime;

namespace KeplerSim.Core.Manifests;

/// <summary>
/// A hybrid logical clock (Kulkarni et al., "Logical Physical Clocks", 2014) that issues
/// <see cref="VersionToken"/>s. Tokens it issues strictly increase even when the wall clock jumps backwards, and
/// after observing a remote token every later token is greater than it.
/// </summary>
/// <remarks>
/// <para>Drift guard: a remote token whose wall time is more than <see cref="RemoteAheadMicrosecondsMax"/> ahead of
/// our wall clock is rejected (<see cref="TryObserve"/> returns false and the clock is unchanged), never clamped:
/// clamping would still let a peer with a broken clock drag every node forward an hour per message. The caller
/// should refuse the message or write that carried it.</para>
/// <para>If the logical counter would overflow, the clock borrows one microsecond of wall time instead, so tokens
/// stay strictly increasing. After a restart, observe the highest token the node had persisted before issuing
/// new ones, because the wall clock alone may have gone backwards across the crash.</para>
/// <para>Not thread-safe: one logical thread per node, like all of core.</para>
/// </remarks>
public sealed class HybridLogicalClock
{
    /// <summary>How far ahead of our wall clock a remote token may be: one hour.</summary>
    public const long RemoteAheadMicrosecondsMax = 3_600L * 1_000_000;

    private readonly IClock _clock;
    private long _wallMicroseconds = long.MinValue;
    private int _logical;

    /// <summary>Creates a clock for <paramref name="node"/> reading wall time from <paramref name="clock"/>.</summary>
    public HybridLogicalClock(IClock clock, NodeId node)
    {
        ArgumentNullException.ThrowIfNull(clock);
        ArgumentException.ThrowIfNullOrEmpty(node.Value, nameof(node));
        _clock = clock;
        Node = node;
    }

    /// <summary>The node whose id every issued token carries.</summary>
    public NodeId Node { get; }

    /// <summary>
    /// The clock's current reading without advancing it: the last token issued, or the state after the last
    /// observation (wall <see cref="long.MinValue"/> before either).
    /// </summary>
    public VersionToken Last => new(_wallMicroseconds, _logical, Node);

    /// <summary>Issues a token strictly greater than every token issued or observed before.</summary>
    public VersionToken Now()
    {
        var physical = _clock.WallMicroseconds;
        if (physical > _wallMicroseconds)
        {
            _wallMicroseconds = physical;
            _logical = 0;
        }
        else
        {
            SetLogical((long)_logical + 1);
        }

        return Last;
    }

    /// <summary>
    /// Merges a token received from a peer so that later tokens exceed it. Returns false, changing nothing, when
    /// the token is malformed or more than <see cref="RemoteAheadMicrosecondsMax"/> ahead of our wall clock.
    /// </summary>
    public bool TryObserve(VersionToken remote)
    {
        if (remote.Problem() is not null)
        {
            return false;
        }

        var physical = _clock.WallMicroseconds;
        var limit = physical > long.MaxValue - RemoteAheadMicrosecondsMax
            ? long.MaxValue
            : physical + RemoteAheadMicrosecondsMax;
        if (remote.WallMicroseconds > limit)
        {
            return false;
        }

        var local = _wallMicroseconds;
        var wall = Math.Max(Math.Max(local, remote.WallMicroseconds), physical);
        long logical;
        if (wall == local && wall == remote.WallMicroseconds)
        {
            logical = (long)Math.Max(_logical, remote.Logical) + 1;
        }
        else if (wall == local)
        {
            logical = (long)_logical + 1;
        }
        else if (wall == remote.WallMicroseconds)
        {
            logical = (long)remote.Logical + 1;
        }
        else
        {
            logical = 0;
        }

        _wallMicroseconds = wall;
        SetLogical(logical);
        Invariant.That(Last.CompareTo(remote) > 0, "after observing, the clock must be ahead of the remote token");
        return true;
    }

    /// <summary>Like <see cref="TryObserve"/> but throws <see cref="ArgumentException"/> on rejection.</summary>
    public void Observe(VersionToken remote)
    {
        if (!TryObserve(remote))
        {
            var problem = remote.Problem()
                ?? $"remote token {remote} is more than {RemoteAheadMicrosecondsMax} µs ahead of the local wall "
                + $"clock {_clock.WallMicroseconds}";
            throw new ArgumentException(problem, nameof(remote));
        }
    }

    private void SetLogical(long logical)
    {
        if (logical > int.MaxValue)
        {
            // Borrow a microsecond instead of wrapping: (wall + 1, 0) is still greater than (wall, int.MaxValue).
            _wallMicroseconds = checked(_wallMicroseconds + 1);
            _logical = 0;
            return;
        }

        _logical = (int)logical;
    }
}
