using MessagePack;

namespace KeplerSim.Core.Membership;

/// <summary>
/// The main message of a SWIM datagram. Union keys and member keys are the wire contract: never renumber, only
/// add.
/// </summary>
[Union(0, typeof(SwimPing))]
[Union(1, typeof(SwimPingRequest))]
[Union(2, typeof(SwimAck))]
[Union(3, typeof(SwimNack))]
[Union(4, typeof(SwimJoinRequest))]
[Union(5, typeof(SwimJoinReply))]
public abstract record SwimMessage;

/// <summary>A direct probe of <see cref="Target"/>; answered by <see cref="SwimAck"/>.</summary>
[MessagePackObject]
public sealed record SwimPing(
    [property: Key(0)] long Sequence,
    [property: Key(1)] string Target,
    [property: Key(2)] string Source) : SwimMessage;

/// <summary>
/// Ask the receiver to probe <see cref="Target"/> on the sender's behalf and relay the ack; with
/// <see cref="WantNack"/> it answers <see cref="SwimNack"/> if the target stays silent (Lifeguard).
/// </summary>
[MessagePackObject]
public sealed record SwimPingRequest(
    [property: Key(0)] long Sequence,
    [property: Key(1)] string Target,
    [property: Key(2)] string TargetHost,
    [property: Key(3)] int TargetPort,
    [property: Key(4)] bool WantNack) : SwimMessage;

/// <summary>The probed node answered (directly or through a relay).</summary>
[MessagePackObject]
public sealed record SwimAck([property: Key(0)] long Sequence) : SwimMessage;

/// <summary>A relay could not reach the target: proves the relay (and so the requester's links) works.</summary>
[MessagePackObject]
public sealed record SwimNack([property: Key(0)] long Sequence) : SwimMessage;

/// <summary>A node joining through a seed introduces itself.</summary>
[MessagePackObject]
public sealed record SwimJoinRequest([property: Key(0)] AliveUpdate Self) : SwimMessage;

/// <summary>The seed introduces itself back; the joiner then syncs full state over a stream.</summary>
[MessagePackObject]
public sealed record SwimJoinReply([property: Key(0)] AliveUpdate Self) : SwimMessage;

/// <summary>A membership update, piggybacked on datagrams and listed in push-pull state.</summary>
[Union(0, typeof(AliveUpdate))]
[Union(1, typeof(SuspectUpdate))]
[Union(2, typeof(DeadUpdate))]
public abstract record MemberUpdate;

/// <summary><see cref="Node"/> is alive at <see cref="Incarnation"/>, reachable at these addresses.</summary>
[MessagePackObject]
public sealed record AliveUpdate(
    [property: Key(0)] string Node,
    [property: Key(1)] long Incarnation,
    [property: Key(2)] string GossipHost,
    [property: Key(3)] int GossipPort,
    [property: Key(4)] string TransferHost,
    [property: Key(5)] int TransferPort,
    [property: Key(6)] byte[]? Metadata) : MemberUpdate;

/// <summary><see cref="From"/> suspects <see cref="Node"/> at <see cref="Incarnation"/>.</summary>
[MessagePackObject]
public sealed record SuspectUpdate(
    [property: Key(0)] string Node,
    [property: Key(1)] long Incarnation,
    [property: Key(2)] string From) : MemberUpdate;

/// <summary>
/// <see cref="From"/> declared <see cref="Node"/> dead at <see cref="Incarnation"/>; when <see cref="From"/> is
/// <see cref="Node"/> itself the node left gracefully.
/// </summary>
[MessagePackObject]
public sealed record DeadUpdate(
    [property: Key(0)] string Node,
    [property: Key(1)] long Incarnation,
    [property: Key(2)] string From) : MemberUpdate;

/// <summary>
/// A datagram: an optional main message, the piggybacked updates and, once an operator changed one, the cluster
/// settings (absent before: such a datagram is byte for byte what nodes without settings send, and those nodes
/// skip the third field).
/// </summary>
[MessagePackObject]
public sealed record SwimDatagram(
    [property: Key(0)] SwimMessage? Message,
    [property: Key(1)] MemberUpdate[]? Updates,
    [property: Key(2)] ClusterSettings? Settings = null);

/// <summary>A frame on a SWIM stream connection (one exchange per connection).</summary>
[Union(0, typeof(SwimPushPull))]
[Union(1, typeof(SwimStreamPing))]
[Union(2, typeof(SwimStreamAck))]
public abstract record SwimFrame;

/// <summary>
/// A push-pull frame: the initiator sends its whole state, the acceptor answers with its own. Members are listed
/// as updates: alive, suspect, dead, or dead-from-self for left; the sender's cluster settings go along (a joining
/// node learns them here).
/// </summary>
[MessagePackObject]
public sealed record SwimPushPull(
    [property: Key(0)] bool IsReply,
    [property: Key(1)] bool Join,
    [property: Key(2)] string Sender,
    [property: Key(3)] MemberUpdate[]? Members,
    [property: Key(4)] ClusterSettings? Settings = null) : SwimFrame;

/// <summary>
/// The reliable fallback probe (memberlist's TCP ping): sent over a stream when datagram probes went unanswered,
/// so datagram loss alone does not make a live node suspect.
/// </summary>
[MessagePackObject]
public sealed record SwimStreamPing([property: Key(0)] long Sequence, [property: Key(1)] string Target) : SwimFrame;

/// <summary>The answer to <see cref="SwimStreamPing"/>.</summary>
[MessagePackObject]
public sealed record SwimStreamAck([property: Key(0)] long Sequence) : SwimFrame;
