using KeplerSim.Core.Runtime;

namespace KeplerSim.Core.Membership;

public sealed partial class SwimMember
{
    /// <summary>
    /// When this node last received anything from <paramref name="id"/>, in local monotonic microseconds (the
    /// runtime clock); null for this node itself, an unknown member, or one never heard from. Heard means: a
    /// datagram it sent us (ping, ack, nack, ping-req, join, gossip), a push-pull exchange with it (either side
    /// started it), a stream ack to our fallback probe, or an ack a relay passed on for our probe of it (the relay
    /// heard it at most a probe timeout earlier; that is how we still hear a member whose datagrams to us are lost).
    /// </summary>
    public long? LastHeardMicroseconds(NodeId id) =>
        id == Id ? null : _members.GetValueOrDefault(id)?.HeardMicroseconds;

    private void HeardFrom(NodeId id)
    {
        if (id != Id && _members.TryGetValue(id, out var entry))
        {
            entry.HeardMicroseconds = Now;
        }
    }

    /// <summary>
    /// A datagram arrived: its sender is the member the message names (ping, join), else the member whose gossip
    /// address it came from (a live one first: a dead member's address may have been taken over).
    /// </summary>
    private void HeardDatagram(NetAddress from, SwimMessage? message)
    {
        var named = message switch
        {
            SwimPing ping => ping.Source,
            SwimJoinRequest join => join.Self.Node,
            SwimJoinReply reply => reply.Self.Node,
            _ => null,
        };
        if (named is not null)
        {
            HeardFrom(new NodeId(named));
            return;
        }

        // The first live member at that address by id, else the first by id (the lists are ordered by id).
        MemberEntry? found = null;
        foreach (var entry in AtAddress(from))
        {
            if (found is null || (entry.Info.IsLive && !found.Info.IsLive))
            {
                found = entry;
            }
        }

        if (found is not null)
        {
            HeardFrom(found.Info.Id);
        }
    }
}
