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

    /// <summary>Reads disks and metadata.</summary>
    public ClusterInspector Inspector { get; } = new(sim);

    /// <summary>Nodes that should be up: started at least once and not stopped, in order.</summary>
    public IReadOnlyList<SimNode> Members => sim.Nodes.Where(n => n.Epoch > 0 && !Stopped.Contains(n.Name)).ToList();

    /// <summary>Members that are running now.</summary>
    public IReadOnlyList<SimNode> Live => Members.Where(n => n.State == SimNodeState.Running).ToList();

    /// <summary>The ring the checkers expect chunks to be placed on: over <see cref="Members"/>.</summary>
    public HashRing ExpectedRing() => new(Members.Select(n => new NodeId(n.Name)),
        new RingOptions(options.VirtualNodesPerNode, Math.Min(options.ReplicationFactor,
            RingOptions.ReplicationFactorMax)));
}
