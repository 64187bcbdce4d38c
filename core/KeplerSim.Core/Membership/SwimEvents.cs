using KeplerSim.Core.Diagnostics;

namespace KeplerSim.Core.Membership;

/// <summary>A member is alive: it joined, rejoined, refuted a suspicion, or changed its addresses.</summary>
public sealed record MemberAliveEvent(string Member, long Incarnation, string Previous) : KeplerEvent
{
    /// <inheritdoc />
    public override string Kind => "member.alive";
}

/// <summary>A member is suspected; <see cref="From"/> is who first suspected it.</summary>
public sealed record MemberSuspectEvent(string Member, long Incarnation, string From) : KeplerEvent
{
    /// <inheritdoc />
    public override string Kind => "member.suspect";
}

/// <summary>A member was declared dead; <see cref="From"/> is whose suspicion timed out.</summary>
public sealed record MemberDeadEvent(string Member, long Incarnation, string From) : KeplerEvent
{
    /// <inheritdoc />
    public override string Kind => "member.dead";
}

/// <summary>A member left gracefully.</summary>
public sealed record MemberLeftEvent(string Member, long Incarnation) : KeplerEvent
{
    /// <inheritdoc />
    public override string Kind => "member.left";
}

/// <summary>This node was suspected or declared dead and refuted it with a higher incarnation.</summary>
public sealed record MemberRefutedEvent(string Member, long Incarnation, long Accused) : KeplerEvent
{
    /// <inheritdoc />
    public override string Kind => "member.refute";
}

/// <summary>A datagram or frame that did not decode or validate was dropped.</summary>
public sealed record SwimMalformedEvent(string Peer, string Reason) : KeplerEvent
{
    /// <inheritdoc />
    public override string Kind => "swim.malformed";
}
