using KeplerSim.Core.Runtime;

namespace KeplerSim.Core.Membership;

/// <summary>What a node believes about a member.</summary>
public enum MemberStatus
{
    /// <summary>Answering probes.</summary>
    Alive = 0,

    /// <summary>Missed a probe; declared dead unless it refutes before the suspicion timeout.</summary>
    Suspect = 1,

    /// <summary>Declared dead after the suspicion timeout.</summary>
    Dead = 2,

    /// <summary>Left the cluster gracefully.</summary>
    Left = 3,
}

/// <summary>An immutable snapshot of one member as seen by the local node.</summary>
/// <param name="Id">The member's node id.</param>
/// <param name="GossipAddress">Where its datagrams go.</param>
/// <param name="TransferAddress">Where its streams connect (chunk transfer and push-pull).</param>
/// <param name="Incarnation">The member's incarnation; only the member itself raises it (refutation).</param>
/// <param name="Status">Alive, suspect, dead or left.</param>
/// <param name="Metadata">A small opaque blob the member published about itself.</param>
/// <param name="StatusChangedMicroseconds">Local monotonic time of the last status change.</param>
public sealed record MemberInfo(
    NodeId Id,
    NetAddress GossipAddress,
    NetAddress TransferAddress,
    long Incarnation,
    MemberStatus Status,
    ReadOnlyMemory<byte> Metadata,
    long StatusChangedMicroseconds)
{
    /// <summary>Alive or suspect: still a member for placement purposes.</summary>
    public bool IsLive => Status is MemberStatus.Alive or MemberStatus.Suspect;
}
