using KeplerSim.Core.Runtime;

namespace KeplerSim.Core.Membership;

/// <summary>
/// Indexes over the member map that keep per-datagram work independent of the cluster's size: the live count (the
/// n of the retransmit limit and the suspicion timeout) and the members at each gossip address (who sent a datagram
/// that names no sender). Both were a scan of every member per datagram or gossip round: n per event, n² per
/// second cluster-wide (a 400-node join spent a fifth of its time there).
/// </summary>
public sealed partial class SwimMember
{
    // Looked up by key only, never enumerated: the first member at each address by id; the others sharing it
    // follow through MemberEntry.NextAtAddress in id order, so the choice among them is the one a scan in id order
    // made. A list per address cost ~150 bytes per member per node (0.15 GB at 1000 nodes).
    private readonly Dictionary<NetAddress, MemberEntry> _byAddress = [];
    private int _liveCount;

    private void AddEntry(MemberEntry entry)
    {
        Invariant.That(!entry.Indexed, "a member entry is added once");
        _members.Add(entry.Info.Id, entry);
        entry.Indexed = true;
        Index(entry.Info, entry);
    }

    private void RemoveEntry(NodeId id)
    {
        if (_members.Remove(id, out var entry))
        {
            entry.Indexed = false;
            Unindex(entry.Info, entry);
        }
    }

    /// <summary>Moves <paramref name="entry"/> in the indexes from <paramref name="old"/> to its current info.</summary>
    private void Reindex(MemberEntry entry, MemberInfo old)
    {
        Unindex(old, entry);
        Index(entry.Info, entry);
    }

    /// <summary>The live count as the index keeps it (tests compare it with a recount of the members).</summary>
    internal int IndexedLiveCount => _liveCount;

    /// <summary>The members the address index lists at <paramref name="address"/>, in its order (tests).</summary>
    internal IReadOnlyList<NodeId> IndexedAt(NetAddress address) =>
        AtAddress(address).Select(e => e.Info.Id).ToList();

    /// <summary>The members at <paramref name="address"/>, in id order.</summary>
    private IEnumerable<MemberEntry> AtAddress(NetAddress address)
    {
        for (var entry = _byAddress.GetValueOrDefault(address); entry is not null; entry = entry.NextAtAddress)
        {
            yield return entry;
        }
    }

    private void Index(MemberInfo info, MemberEntry entry)
    {
        _liveCount += info.IsLive ? 1 : 0;
        var head = _byAddress.GetValueOrDefault(info.GossipAddress);
        if (head is null || head.Info.Id.CompareTo(info.Id) > 0)
        {
            entry.NextAtAddress = head;
            _byAddress[info.GossipAddress] = entry;
            return;
        }

        var before = head;
        while (before.NextAtAddress is { } next && next.Info.Id.CompareTo(info.Id) < 0)
        {
            before = next;
        }

        entry.NextAtAddress = before.NextAtAddress;
        before.NextAtAddress = entry;
    }

    private void Unindex(MemberInfo info, MemberEntry entry)
    {
        _liveCount -= info.IsLive ? 1 : 0;
        var head = _byAddress[info.GossipAddress];
        if (head == entry)
        {
            if (entry.NextAtAddress is { } next)
            {
                _byAddress[info.GossipAddress] = next;
            }
            else
            {
                _byAddress.Remove(info.GossipAddress);
            }
        }
        else
        {
            var before = head;
            while (before.NextAtAddress != entry)
            {
                before = before.NextAtAddress ?? throw new InvariantViolationException(
                    "an indexed member is listed at its address");
            }

            before.NextAtAddress = entry.NextAtAddress;
        }

        entry.NextAtAddress = null;
    }
}
