using KeplerSim.Core.Runtime;

namespace KeplerSim.Core.Metadata;

/// <summary>A peer's health as this node last recorded it.</summary>
public enum PeerStatus
{
    /// <summary>Answering probes.</summary>
    Alive,

    /// <summary>Missed probes; may still refute.</summary>
    Suspect,

    /// <summary>Declared dead after the suspicion timeout.</summary>
    Dead,

    /// <summary>Left the cluster gracefully.</summary>
    Left,
}

/// <summary>A row of <c>peers</c>: a known member of the cluster.</summary>
/// <param name="Id">The peer's node id.</param>
/// <param name="Address">The peer's host (an IP address, or a node name in the simulator).</param>
/// <param name="GossipPort">The peer's gossip (datagram) port.</param>
/// <param name="TransferPort">The peer's chunk transfer (stream) port.</param>
/// <param name="LastSeenUs">
/// When this node last recorded the peer's state (a SWIM state change), wall microseconds. Not when it last heard
/// from the peer: that changes with every datagram and lives in memory,
/// <see cref="Membership.SwimMember.LastHeardMicroseconds"/> (a row write per datagram would cost a SQLite write
/// per datagram, and a restarted node has heard nothing yet anyway).
/// </param>
/// <param name="Status">The peer's health.</param>
/// <param name="Incarnation">The peer's SWIM incarnation number.</param>
public sealed record PeerRow(
    NodeId Id,
    string Address,
    int GossipPort,
    int TransferPort,
    long LastSeenUs,
    PeerStatus Status,
    long Incarnation);
