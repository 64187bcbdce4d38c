using System.Collections.Immutable;
using KeplerSim.Core.Runtime;

namespace KeplerSim.Core.Node;

/// <summary>A member of the cluster and where to reach it.</summary>
public sealed record Member(NodeId Id, NetAddress GossipAddress, NetAddress TransferAddress);

/// <summary>
/// The set of members a node places chunks over. Static until membership (SWIM) maintains it; ordered by id so
/// every node enumerates it the same way. Immutable and persistent: <see cref="With"/> and <see cref="Without"/>
/// share all but O(log n) of the old view, so a node that learns of n members one at a time (a join) does not
/// copy its view n times, and an observer may keep every view a node held.
/// </summary>
public sealed class ClusterView
{
    private static readonly IComparer<Member> ById = Comparer<Member>.Create((a, b) => a.Id.CompareTo(b.Id));

    // Sorted by id, distinct.
    private readonly ImmutableList<Member> _members;

    /// <summary>Creates a view of <paramref name="members"/>.</summary>
    public ClusterView(IEnumerable<Member> members)
    {
        ArgumentNullException.ThrowIfNull(members);
        var sorted = members.ToList();
        sorted.Sort(ById);
        for (var i = 1; i < sorted.Count; i++)
        {
            if (sorted[i].Id == sorted[i - 1].Id)
            {
                throw new ArgumentException($"member {sorted[i].Id} is listed twice");
            }
        }

        _members = [.. sorted];
    }

    private ClusterView(ImmutableList<Member> members) => _members = members;

    /// <summary>The members, ordered by id.</summary>
    public IReadOnlyList<Member> Members => _members;

    /// <summary>The member ids, ordered.</summary>
    public IEnumerable<NodeId> Ids => _members.Select(m => m.Id);

    /// <summary>The member with <paramref name="id"/>, or null.</summary>
    public Member? Find(NodeId id) => IndexOf(id) is var index and >= 0 ? _members[index] : null;

    /// <summary>This view with <paramref name="member"/> added, or replacing the member with its id.</summary>
    public ClusterView With(Member member)
    {
        ArgumentNullException.ThrowIfNull(member);
        var index = IndexOf(member.Id);
        return new ClusterView(index >= 0 ? _members.SetItem(index, member) : _members.Insert(~index, member));
    }

    /// <summary>This view without the member <paramref name="id"/> (this view when it has no such member).</summary>
    public ClusterView Without(NodeId id) => IndexOf(id) is var index and >= 0
        ? new ClusterView(_members.RemoveAt(index))
        : this;

    private int IndexOf(NodeId id) => _members.BinarySearch(new Member(id, default, default), ById);
}
