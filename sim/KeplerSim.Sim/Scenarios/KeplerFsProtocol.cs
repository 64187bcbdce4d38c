using KeplerSim.Core.Node;
using KeplerSim.Sim.Kernel;

namespace KeplerSim.Sim.Scenarios;

/// <summary>
/// Registers the KeplerFS protocol: every node runs <see cref="KeplerNode"/> over a member list the harness keeps
/// (joins and stops change it) until SWIM maintains it.
/// </summary>
public static partial class ProtocolRegistry
{
    /// <summary>What KeplerFS offers the checkers: files, chunks, and a member view per node.</summary>
    public const ProtocolCapabilities KeplerFsCapabilities =
        ProtocolCapabilities.Files | ProtocolCapabilities.Chunks | ProtocolCapabilities.Membership;

    static partial void RegisterKeplerFs(ref ProtocolRegistration? registration) =>
        registration = new ProtocolRegistration(KeplerFs, Create, KeplerFsCapabilities, OnChange)
        {
            MembershipView = node => node.Program is KeplerNode { Ready.IsCompletedSuccessfully: true } kepler
                ? kepler.Cluster.Ids.Select(id => id.Value).ToList()
                : null,
        };

    private static SortedSet<string> Members(ProtocolRunState run, ProtocolContext? context) =>
        run.GetOrAdd("members", () => new SortedSet<string>(
            context!.InitialMembers.Select(m => m.Value), StringComparer.Ordinal));

    private static ClusterView View(SortedSet<string> members) => Sim.KeplerFs.KeplerSimCluster.ViewOf(members);

    private static KeplerNode Create(ProtocolContext context) =>
        new(context.Runtime, context.Options, View(Members(context.Run, context)));

    private static void OnChange(ProtocolRunState run, Simulation sim, SimNode node, MembershipChange change)
    {
        var members = Members(run, null);
        if (change == MembershipChange.Joined)
        {
            members.Add(node.Name);
        }
        else
        {
            members.Remove(node.Name);
        }

        // Paused nodes too: their work waits for the resume. Skipping them left a node that was paused during a join
        // on the old ring for good (chaos regression scenarios/regressions/paused-node-misses-join.yaml).
        foreach (var member in sim.Nodes.Where(n => n.State != SimNodeState.Down && n.Program is KeplerNode))
        {
            var view = View(members);
            _ = member.Spawn(_ =>
            {
                ((KeplerNode)member.Program!).UpdateCluster(view, $"{change} {node.Name}");
                return Task.FromResult(true);
            });
        }
    }
}
