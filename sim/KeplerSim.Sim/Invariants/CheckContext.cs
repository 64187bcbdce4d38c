using KeplerSim.Core.Manifests;
using KeplerSim.Core.Node;
using KeplerSim.Core.Ring;
using KeplerSim.Core.Runtime;
using KeplerSim.Sim.Kernel;
using KeplerSim.Sim.Scenarios;

namespace KeplerSim.Sim.Invariants;

/// <summary>
/// What the simulator's checkers see of a run: the host-neutral <see cref="CheckedCluster"/> the state checks
/// read (over <see cref="SimCheckedNode"/>s, the same checks real mode runs), plus what only the simulation has:
/// the kernel (its trace, network and ground truth, for the event checkers and trackers) and
/// <see cref="SimNode"/>s.
/// </summary>
public sealed class CheckContext
{
    private readonly Simulation _sim;
    private readonly List<ICheckedNode> _checked = [];
    private Func<SimNode, IReadOnlyList<string>?>? _membershipView;

    /// <summary>A context over <paramref name="sim"/>'s nodes.</summary>
    public CheckContext(Simulation sim, KeplerOptions options, FileLedger ledger)
    {
        ArgumentNullException.ThrowIfNull(sim);
        _sim = sim;
        Inspector = new ClusterInspector(sim);
        Cluster = new CheckedCluster(CheckedNodes, () => sim.Now, options, ledger) { NotesBegins = true };
    }

    /// <summary>The run as the host-neutral state checks see it.</summary>
    public CheckedCluster Cluster { get; }

    /// <summary>The simulation.</summary>
    public Simulation Sim => _sim;

    /// <summary>The ledger of client file operations.</summary>
    public FileLedger Ledger => Cluster.Ledger;

    /// <summary>Nodes a <c>stop</c> step took down for good.</summary>
    public SortedSet<string> Stopped => Cluster.Stopped;

    /// <summary>Chunk ids a fault is known to have corrupted, per node.</summary>
    public SortedSet<(string Node, string Id)> KnownCorrupt => Cluster.KnownCorrupt;

    /// <summary>Fencing state: the highest winning version token each node has shown for each path.</summary>
    public Dictionary<(string Node, string Path), VersionToken> HighestWinners => Cluster.HighestWinners;

    /// <summary>The member set a running node places chunks over (null: not known yet); set by the protocol's
    /// registration, used by <c>membership_converged</c> (through <see cref="CheckedCluster.MembershipView"/>) and
    /// the event checkers.</summary>
    public Func<SimNode, IReadOnlyList<string>?>? MembershipView
    {
        get => _membershipView;
        set
        {
            _membershipView = value;
            Cluster.MembershipView = value is null ? null : n => n is SimCheckedNode s ? value(s.Node) : null;
        }
    }

    /// <summary>
    /// The seed nodes a node was told to join through (SWIM; empty for a node that starts a cluster of its own or
    /// for static membership). Null: not known. The configuration, not the protocol's state: the event checkers
    /// use it to know a node is in a cluster of more than itself before it has heard from anyone.
    /// </summary>
    public Func<string, IReadOnlyList<string>>? SeedsOf
    {
        get => Cluster.SeedsOf;
        init => Cluster.SeedsOf = value;
    }

    /// <summary>Virtual time by which the liveness phase must converge (null before it starts); garbage due
    /// before it must be collected.</summary>
    public long? LivenessDeadline
    {
        get => Cluster.LivenessDeadline;
        set => Cluster.LivenessDeadline = value;
    }

    /// <summary>Reads disks and metadata.</summary>
    public ClusterInspector Inspector { get; }

    /// <summary>Nodes that should be up: started at least once and not stopped, in order.</summary>
    public IReadOnlyList<SimNode> Members =>
        _sim.Nodes.Where(n => n.Epoch > 0 && !Stopped.Contains(n.Name)).ToList();

    /// <summary>Members that are running now.</summary>
    public IReadOnlyList<SimNode> Live => Members.Where(n => n.State == SimNodeState.Running).ToList();

    /// <summary>The options the run's nodes were built with.</summary>
    public KeplerOptions Options => Cluster.Options;

    /// <summary>The runtime replication factor change the cluster must converge to (see
    /// <see cref="CheckedCluster.ReplicationSetting"/>).</summary>
    public Core.Membership.ClusterSettings? ReplicationSetting => Cluster.ReplicationSetting;

    /// <summary>Records a change a node accepted (and answered) for an operator.</summary>
    public void AcceptReplicationSetting(Core.Membership.ClusterSettings accepted) =>
        Cluster.AcceptReplicationSetting(accepted);

    /// <summary>The replication factor the checkers expect: the winning runtime change, else the scenario's.</summary>
    public int ReplicationFactor => Cluster.ReplicationFactor;

    /// <summary>Where the checkers expect chunks (see <see cref="CheckedCluster.ExpectedPlacement"/>).</summary>
    public PlacementReference ExpectedPlacement() => Cluster.ExpectedPlacement();

    /// <summary>The independent placement over <paramref name="nodes"/> (see
    /// <see cref="CheckedCluster.Placement"/>).</summary>
    public PlacementReference Placement(IEnumerable<string> nodes, int replicationFactor) =>
        Cluster.Placement(nodes, replicationFactor);

    /// <summary>Core's ring over <see cref="Members"/>, for displays (ring shares); checkers use
    /// <see cref="ExpectedPlacement"/>.</summary>
    public HashRing ExpectedRing() => new(Members.Select(n => new NodeId(n.Name)),
        new RingOptions(Options.VirtualNodesPerNode, ReplicationFactor));

    /// <summary>One <see cref="SimCheckedNode"/> per simulated node, in the simulation's order (nodes are only
    /// ever added).</summary>
    private IReadOnlyList<ICheckedNode> CheckedNodes()
    {
        while (_checked.Count < _sim.Nodes.Count)
        {
            _checked.Add(new SimCheckedNode(_sim.Nodes[_checked.Count], Inspector));
        }

        return _checked;
    }
}
