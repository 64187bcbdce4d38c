using KeplerSim.Core.Manifests;
using KeplerSim.Core.Node;
using KeplerSim.Core.Ring;
using KeplerSim.Sim.Scenarios;

namespace KeplerSim.Sim.Invariants;

/// <summary>
/// What the state checkers see of a run, on either host: the nodes (<see cref="ICheckedNode"/>), which of them a
/// <c>stop</c> took down, the faults that explain damage, the fencing state, the client-operation ledger and where
/// chunks belong. The simulator's <see cref="CheckContext"/> and real mode each hold one, and both judge a run with
/// <see cref="InvariantChecks.Check(string, CheckedCluster)"/>.
/// </summary>
/// <param name="nodes">Every node of the run, in order (called at each check: a run may add nodes).</param>
/// <param name="now">The run's time in microseconds (virtual in the simulator, wall clock in real mode).</param>
/// <param name="options">The options the run's nodes were built with.</param>
/// <param name="ledger">The ledger of client file operations.</param>
public sealed class CheckedCluster(Func<IReadOnlyList<ICheckedNode>> nodes, Func<long> now, KeplerOptions options,
    FileLedger ledger)
{
    /// <summary>Most reference rings kept at once (each is <c>nodes x virtual nodes</c> positions).</summary>
    public const int PlacementsCachedMax = 16;

    private PlacementReference? _placement;
    private int _placementFactor;

    // Looked up by key only, never enumerated: no order reaches a check.
    private readonly Dictionary<string, PlacementReference> _placements = new(StringComparer.Ordinal);
    private readonly Dictionary<string, IReadOnlyList<ulong>> _positions = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _indexes = new(StringComparer.Ordinal);

    /// <summary>Every node of the run, in order.</summary>
    public IReadOnlyList<ICheckedNode> Nodes => nodes();

    /// <summary>The run's time in microseconds.</summary>
    public long Now => now();

    /// <summary>The ledger of client file operations.</summary>
    public FileLedger Ledger => ledger;

    /// <summary>The options the run's nodes were built with.</summary>
    public KeplerOptions Options => options;

    /// <summary>Nodes a <c>stop</c> step took down for good.</summary>
    public SortedSet<string> Stopped { get; } = new(StringComparer.Ordinal);

    /// <summary>Chunk ids a fault is known to have corrupted, per node.</summary>
    public SortedSet<(string Node, string Id)> KnownCorrupt { get; } = [];

    /// <summary>Fencing state: the highest winning version token each node has shown for each path.</summary>
    public Dictionary<(string Node, string Path), VersionToken> HighestWinners { get; } = [];

    /// <summary>The member set a running node places chunks over (null: not known yet; the delegate null: the
    /// host cannot tell, and <c>membership_converged</c> holds trivially).</summary>
    public Func<ICheckedNode, IReadOnlyList<string>?>? MembershipView { get; set; }

    /// <summary>Time by which the liveness phase must converge (null before it starts, and in real mode); garbage
    /// due before it must be collected.</summary>
    public long? LivenessDeadline { get; set; }

    /// <summary>
    /// The seed nodes a node was told to join through (SWIM; empty for a node that starts a cluster of its own or
    /// for static membership). Null: not known. The configuration, not the protocol's state: the event checkers
    /// use it to know a node is in a cluster of more than itself before it has heard from anyone.
    /// </summary>
    public Func<string, IReadOnlyList<string>>? SeedsOf { get; set; }

    /// <summary>
    /// Whether the host notes when a node began each client request (<see cref="FileOp.Begun"/>; the simulator
    /// does): then a put not begun yet is not the one an acknowledgement is for. Real mode knows only issue times.
    /// </summary>
    public bool NotesBegins { get; init; }

    /// <summary>The node named <paramref name="name"/>; null if the run has none.</summary>
    public ICheckedNode? Find(string name)
    {
        var index = IndexOf(name);
        return index < 0 ? null : Nodes[index];
    }

    /// <summary>The position of the node named <paramref name="name"/> among <see cref="Nodes"/>; -1 if none (nodes
    /// are only ever added, so a position stays).</summary>
    public int IndexOf(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (_indexes.TryGetValue(name, out var index))
        {
            return index;
        }

        var nodes = Nodes;
        for (var i = _indexes.Count; i < nodes.Count; i++)
        {
            _indexes[nodes[i].Name] = i;
        }

        return _indexes.GetValueOrDefault(name, -1);
    }

    /// <summary>Nodes that should be up: started at least once and not stopped, in order.</summary>
    public IReadOnlyList<ICheckedNode> Members => Nodes.Where(n => n.Started && !Stopped.Contains(n.Name)).ToList();

    /// <summary>Members that are running now.</summary>
    public IReadOnlyList<ICheckedNode> Live => Members.Where(n => n.Running).ToList();

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

    /// <summary>The replication factor the checkers expect: the winning runtime change, else the configured one.
    /// </summary>
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
    /// The independent <see cref="PlacementReference"/> over <paramref name="names"/> with
    /// <paramref name="replicationFactor"/> owners per chunk. Rings and each node's virtual node positions are
    /// cached (a write's acknowledgement asks for the acceptor's ring views, which rarely change between writes).
    /// </summary>
    public PlacementReference Placement(IEnumerable<string> names, int replicationFactor)
    {
        ArgumentNullException.ThrowIfNull(names);
        var sorted = names.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
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
}
