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
    // Looked up by key only, never enumerated; each list is ordered by id, so the choice among members sharing an
    // address is the one a scan in id order made.
    private readonly Dictionary<NetAddress, List<MemberEntry>> _byAddress = [];
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

    private void Index(MemberInfo info, MemberEntry entry)
    {
        _liveCount += info.IsLive ? 1 : 0;
        if (!_byAddress.TryGetValue(info.GossipAddress, out var sharing))
        {
            _byAddress[info.GossipAddress] = sharing = [];
        }

        var at = sharing.FindIndex(e => e.Info.Id.CompareTo(info.Id) > 0);
        sharing.Insert(at < 0 ? sharing.Count : at, entry);
    }

    private void Unindex(MemberInfo info, MemberEntry entry)
    {
        _liveCount -= info.IsLive ? 1 : 0;
        var sharing = _byAddress[info.GossipAddress];
        Invariant.That(sharing.Remove(entry), "an indexed member is listed at its address");
        if (sharing.Count == 0)
        {
            _byAddress.Remove(info.GossipAddress);
        }
    }
}
