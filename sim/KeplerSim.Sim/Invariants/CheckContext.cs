using KeplerSim.Core.Manifests;
using KeplerSim.Core.Node;
using KeplerSim.Core.Ring;
using KeplerSim.Core.Runtime;
using KeplerSim.Sim.Kernel;
using KeplerSim.Sim.Scenarios;

namespace KeplerSim.Sim.Invariants;

/// <summary>What the checkers see of a run: the simulation, which nodes should be up, the file ledger.</summary>
public sealed class CheckContext(Simulation sim, KeplerOptions options, FileLedger ledger)
{
    /// <summary>The simulation.</summary>
    public Simulation Sim => sim;

    /// <summary>The ledger of client file operations.</summary>
    public FileLedger Ledger => ledger;

    /// <summary>Nodes a <c>stop</c> step took down for good.</summary>
    public SortedSet<string> Stopped { get; } = new(StringComparer.Ordinal);

    /// <summary>Chunk ids a fault is known to have corrupted, per node.</summary>
    public SortedSet<(string Node, string Id)> KnownCorrupt { get; } = [];

    /// <summary>Fencing state: the highest winning version token each node has shown for each path.</summary>
    public SortedDictionary<(string Node, string Path), VersionToken> HighestWinners { get; } = [];

    /// <summary>The member set a running node places chunks over (null: not known yet); set by the protocol's
    /// registration, used by <c>membership_converged</c>.</summary>
    public Func<SimNode, IReadOnlyList<string>?>? MembershipView { get; set; }

    /// <summary>Virtual time by which the liveness phase must converge (null before it starts); garbage due
    /// before it must be collected.</summary>
    public long? LivenessDeadline { get; set; }

    /// <summary>Reads disks and metadata.</summary>
    public ClusterInspector Inspector { get; } = new(sim);

    /// <summary>Nodes that should be up: started at least once and not stopped, in order.</summary>
    public IReadOnlyList<SimNode> Members => sim.Nodes.Where(n => n.Epoch > 0 && !Stopped.Contains(n.Name)).ToList();

    /// <summary>Members that are running now.</summary>
    public IReadOnlyList<SimNode> Live => Members.Where(n => n.State == SimNodeState.Running).ToList();

    /// <summary>The options the run's nodes were built with.</summary>
    public KeplerOptions Options => options;

    /// <summary>
    /// The runtime replication factor change the cluster must converge to: of the changes operators' calls
    /// (<c>replication_factor</c> steps) were answered with, the one that wins by (version, origin); null when
    /// none was made.
    /// </summary>
    public Core.Membership.ClusterSettings? ReplicationSetting { get; private set; }

    /// <summary>Records a change a node accepted (and answered) for an operator.</summary>
    public void AcceptReplicationSetting(Core.Membership.ClusterSettings accepted)
    {
        ArgumentNullException.ThrowIfNull(accepted);
        if (accepted.Supersedes(ReplicationSetting))
        {
            ReplicationSetting = accepted;
        }
    }

    /// <summary>The replication factor the checkers expect: the winning runtime change, else the scenario's.</summary>
    public int ReplicationFactor => Math.Min(ReplicationSetting?.ReplicationFactor ?? options.ReplicationFactor,
        RingOptions.ReplicationFactorMax);

    /// <summary>
    /// Where the checkers expect chunks: the independent <see cref="PlacementReference"/> over
    /// <see cref="Members"/> with <see cref="ReplicationFactor"/>, never core's ring (a placement bug in core would
    /// look correct to a checker that asked it). Cached per member set and factor.
    /// </summary>
    public PlacementReference ExpectedPlacement()
    {
        var members = Members.Select(n => n.Name).ToList();
        if (_placement is null || _placementFactor != ReplicationFactor
            || !_placement.Nodes.SequenceEqual(members.Order(StringComparer.Ordinal)))
        {
            _placement = Placement(members, ReplicationFactor);
            _placementFactor = ReplicationFactor;
        }

        return _placement;
    }

    /// <summary>
    /// The independent <see cref="PlacementReference"/> over <paramref name="nodes"/> with
    /// <paramref name="replicationFactor"/> owners per chunk. Rings and each node's virtual node positions are
    /// cached (a write's acknowledgement asks for the acceptor's ring views, which rarely change between writes).
    /// </summary>
    public PlacementReference Placement(IEnumerable<string> nodes, int replicationFactor)
    {
        ArgumentNullException.ThrowIfNull(nodes);
        var sorted = nodes.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        var key = $"{replicationFactor}:{string.Join(',', sorted)}";
        if (_placements.TryGetValue(key, out var cached))
        {
            return cached;
        }

        if (_placements.Count >= PlacementsCachedMax)
        {
            _placements.Clear();
        }

        var vnodes = options.VirtualNodesPerNode;
        var ring = new PlacementReference(sorted, vnodes, replicationFactor, node =>
        {
            if (!_positions.TryGetValue(node, out var positions))
            {
                positions = PlacementReference.PositionsOf(node, vnodes);
                _positions[node] = positions;
            }

            return positions;
        });
        _placements[key] = ring;
        return ring;
    }

    /// <summary>Most reference rings kept at once (each is <c>nodes x virtual nodes</c> positions).</summary>
    public const int PlacementsCachedMax = 16;

    private PlacementReference? _placement;
    private int _placementFactor;

    // Looked up by key only, never enumerated: no order reaches a check.
    private readonly Dictionary<string, PlacementReference> _placements = new(StringComparer.Ordinal);
    private readonly Dictionary<string, IReadOnlyList<ulong>> _positions = new(StringComparer.Ordinal);

    /// <summary>Core's ring over <see cref="Members"/>, for displays (ring shares); checkers use
    /// <see cref="ExpectedPlacement"/>.</summary>
    public HashRing ExpectedRing() => new(Members.Select(n => new NodeId(n.Name)),
        new RingOptions(options.VirtualNodesPerNode, ReplicationFactor));
}
