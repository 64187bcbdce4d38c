using KeplerSim.Core.Node;
using KeplerSim.Sim.KeplerFs;

namespace KeplerSim.Sim.Scenarios;

/// <summary>
/// Registers the KeplerFS protocol: every node runs <see cref="KeplerNode"/>, created by
/// <see cref="SimKeplerNode"/> exactly as a real node starts: with SWIM it knows itself and its seeds and joins
/// through them; with <c>membership: static</c> its members are every node of the scenario (a real node's
/// <c>PEERS</c>). The harness never tells a node who its members are afterwards.
/// </summary>
public static partial class ProtocolRegistry
{
    /// <summary>What KeplerFS offers the checkers: files, chunks, and a member view per node.</summary>
    public const ProtocolCapabilities KeplerFsCapabilities =
        ProtocolCapabilities.Files | ProtocolCapabilities.Chunks | ProtocolCapabilities.Membership;

    static partial void RegisterKeplerFs(ref ProtocolRegistration? registration) =>
        registration = new ProtocolRegistration(KeplerFs, Create, KeplerFsCapabilities)
        {
            // What the node really places chunks over: its ring's members, as SWIM (or the static list) made them.
            MembershipView = node => node.Program is KeplerNode { Ready.IsCompletedSuccessfully: true } kepler
                ? new MemberNames(kepler.Cluster.Members)
                : null,
        };

    private static KeplerNode Create(ProtocolContext context)
    {
        var cluster = context.Cluster;
        var others = cluster.Membership == MembershipMode.Static ? cluster.NodeNames() : cluster.SeedNodes();
        var keys = context.Run.GetOrAdd(SimClusterKeys.RunStateKey, () => new SimClusterKeys(0, enabled: false));
        var options = context.Options with { ClusterKey = keys.KeyringOf(context.Runtime.Id.Value) };
        var node = SimKeplerNode.Create(context.Runtime, options, cluster.Membership, others);
        context.Run.GetOrAdd(SimTransferCounts.RunStateKey, () => new SimTransferCounts()).Add(node.Metrics);
        return node;
    }
}
