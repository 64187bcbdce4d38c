using KeplerSim.Core.Node;
using KeplerSim.Sim.Kernel;

namespace KeplerSim.Sim.Scenarios;

/// <summary>
/// Registers the KeplerFS protocol: every node runs <see cref="KeplerNode"/> over a member list the harness keeps
/// (joins and stops change it) until SWIM maintains it.
/// </summary>
public static partial class ProtocolRegistry
{
    static partial void RegisterKeplerFs(ref ProtocolRegistration? registration) =>
        registration = new ProtocolRegistration(KeplerFs, Create,
            ProtocolCapabilities.Files | ProtocolCapabilities.Chunks, OnChange);

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

        foreach (var member in sim.Nodes.Where(n => n.State == SimNodeState.Running && n.Program is KeplerNode))
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
