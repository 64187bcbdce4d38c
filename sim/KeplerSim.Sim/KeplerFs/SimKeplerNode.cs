using KeplerSim.Core.Node;
using KeplerSim.Core.Runtime;
using KeplerSim.Sim.Kernel;

namespace KeplerSim.Sim.KeplerFs;

/// <summary>How a simulated KeplerFS node learns its members: exactly the two ways a real node can.</summary>
public enum MembershipMode
{
    /// <summary>SWIM, joining through seed addresses (the node's <c>SEEDS</c>): the default, as deployed.</summary>
    Swim,
    /// <summary>A fixed member list given at start (the node's <c>PEERS</c>); SWIM is off.</summary>
    Static,
}

/// <summary>
/// Creates the KeplerFS program of one simulated node the way <c>NodeHost</c> creates a real one: with SWIM the
/// node starts knowing only itself and its seeds' gossip addresses; with a static list it starts with that list
/// and its replication factor is capped by the list's size. Every simulated KeplerFS node is created here, so the
/// simulator never knows the membership ahead of the protocol and never pushes one into a node.
/// </summary>
public static class SimKeplerNode
{
    /// <summary>
    /// Creates the program. <paramref name="others"/> are seed node names (SWIM) or the static members besides
    /// this node (static).
    /// </summary>
    public static KeplerNode Create(NodeRuntime runtime, KeplerOptions options, MembershipMode mode,
        IEnumerable<string> others)
    {
        ArgumentNullException.ThrowIfNull(runtime);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(others);
        var names = others.Where(n => n != runtime.Id.Value).Distinct(StringComparer.Ordinal)
            .Order(StringComparer.Ordinal).ToList();
        if (mode == MembershipMode.Static)
        {
            var view = ViewOf(names.Append(runtime.Id.Value));
            var staticOptions = options with
            {
                Swim = null,
                Seeds = [],
                ReplicationFactor = Math.Min(options.ReplicationFactor, view.Members.Count),
            };
            return new KeplerNode(runtime, staticOptions, view);
        }

        var swimOptions = options with
        {
            Swim = options.Swim ?? new Core.Membership.SwimOptions(),
            Seeds = names.Select(n => new NetAddress(n, SimNode.GossipPort)).ToList(),
        };
        return new KeplerNode(runtime, swimOptions, ViewOf([runtime.Id.Value]));
    }

    /// <summary>A member view of the named nodes with the simulator's addresses.</summary>
    public static ClusterView ViewOf(IEnumerable<string> names) => new(names.Select(n => new Member(new NodeId(n),
        new NetAddress(n, SimNode.GossipPort), new NetAddress(n, SimNode.TransferPort))));
}
