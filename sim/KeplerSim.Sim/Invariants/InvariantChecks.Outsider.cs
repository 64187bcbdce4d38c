using KeplerSim.Core.Node;
using KeplerSim.Core.Runtime;
using KeplerSim.Sim.Kernel;

namespace KeplerSim.Sim.Invariants;

public static partial class InvariantChecks
{
    /// <summary>
    /// Safety: nothing of an outsider (a process without the cluster key) was accepted: no node counts it as a
    /// member or places chunks on it, no node's metadata holds a version (manifest or tombstone) it made, and no
    /// node's disk holds a chunk only it wrote. Holds trivially in a run without outsiders.
    /// </summary>
    public static string? OutsiderChangesNothing(CheckContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var outsiders = context.Sim.Outsiders;
        if (outsiders.Count == 0)
        {
            return null;
        }

        var names = new SortedSet<string>(outsiders.Select(o => o.Name), StringComparer.Ordinal);
        var theirChunks = new SortedSet<string>(outsiders.SelectMany(o => context.Inspector.ChunkFiles(o))
            .Where(f => f.Matches).Select(f => f.Id), StringComparer.Ordinal);
        var bad = new List<string>();
        foreach (var node in context.Sim.Nodes.Where(n => n.Epoch > 0))
        {
            bad.AddRange(OutsiderMembers(node, names));
            bad.AddRange((ClusterInspector.AllVersions(node) ?? []).Where(v => names.Contains(v.Version.Node.Value))
                .Select(v => $"{node.Name} holds {v.Path} version {v.Version} made by {v.Version.Node}"));
            bad.AddRange(context.Inspector.ChunkFiles(node).Where(f => theirChunks.Contains(f.Id))
                .Select(f => $"{node.Name} holds the outsider's chunk {f.Id[..12]}"));
        }

        return bad.Count == 0 ? null : $"{bad.Count} change(s) of an outsider accepted: " + Examples(bad);
    }

    private static IEnumerable<string> OutsiderMembers(SimNode node, SortedSet<string> names)
    {
        if (node.State != SimNodeState.Running || node.Program is not KeplerNode { Ready.IsCompletedSuccessfully: true }
            kepler)
        {
            yield break;
        }

        foreach (var id in kepler.Cluster.Ids.Where(id => names.Contains(id.Value)))
        {
            yield return $"{node.Name} places chunks on {id}";
        }

        foreach (var name in names.Where(n => kepler.Membership?.Find(new NodeId(n)) is not null))
        {
            yield return $"{node.Name} lists {name} as a member";
        }
    }
}
