using KeplerSim.Core.Runtime;

namespace KeplerSim.Core.Node;

/// <summary>A member of the cluster and where to reach it.</summary>
public sealed record Member(NodeId Id, NetAddress GossipAddress, NetAddress TransferAddress);

/// <summary>
/// The set of members a node places chunks over. Static until membership (SWIM) maintains it; ordered by id so
/// every node enumerates it the same way.
/// </summary>
public sealed class ClusterView
{
    private readonly SortedDictionary<NodeId, Member> _members = [];

    /// <summary>Creates a view of <paramref name="members"/>.</summary>
    public ClusterView(IEnumerable<Member> members)
    {
        ArgumentNullException.ThrowIfNull(members);
        foreach (var member in members)
        {
            if (!_members.TryAdd(member.Id, member))
            {
                throw new ArgumentException($"member {member.Id} is listed twice");
            }
        }
    }

    /// <summary>The members, ordered by id.</summary>
    public IReadOnlyCollection<Member> Members => _members.Values;

    /// <summary>The member ids, ordered.</summary>
    public IEnumerable<NodeId> Ids => _members.Keys;

    /// <summary>The member with <paramref name="id"/>, or null.</summary>
    public Member? Find(NodeId id) => _members.GetValueOrDefault(id);
}
