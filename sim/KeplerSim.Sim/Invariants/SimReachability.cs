using KeplerSim.Sim.Kernel;

namespace KeplerSim.Sim.Invariants;

/// <summary>The simulator's ground truth of who ran and which links worked: its nodes' states and the kernel's
/// network (cuts and per-link faults).</summary>
/// <param name="sim">The simulation.</param>
public sealed class SimReachability(Simulation sim) : IReachability
{
    /// <inheritdoc/>
    public bool Up(ICheckedNode node) => Of(node).State == SimNodeState.Running;

    /// <inheritdoc/>
    public bool Linked(ICheckedNode from, ICheckedNode to) => !sim.Network.IsBlocked(Of(from), Of(to))
        && sim.Network.FaultsOf(Of(from), Of(to)).LossProbability <= FalseDeadTracker.ReachableLossMax;

    /// <inheritdoc/>
    public ILinkSnapshot Links() => new Snapshot(sim.Network.Links);

    /// <summary>The SWIM view of the node named <paramref name="prober"/> now: the members it sees alive and its
    /// health score; null when it runs no SWIM.</summary>
    public ProberView? ProberViewOf(string prober) =>
        sim.FindNode(prober)?.Program is Core.Node.KeplerNode { Membership: { } swim }
            ? new ProberView(swim.Members.Where(m => m.Status == Core.Membership.MemberStatus.Alive)
                .Select(m => m.Id.Value).ToList(), swim.HealthScore)
            : null;

    private static SimNode Of(ICheckedNode node) => ((SimCheckedNode)node).Node;

    /// <summary>The kernel's shared snapshot of its links (one per change of faults or partitions).</summary>
    private sealed class Snapshot(NetworkLinks links) : ILinkSnapshot
    {
        public bool IsClean(ICheckedNode from, ICheckedNode to) => links.IsClean(Of(from), Of(to));
    }
}
