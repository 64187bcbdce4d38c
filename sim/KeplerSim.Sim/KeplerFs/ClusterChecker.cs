using System.Security.Cryptography;
using KeplerSim.Core.Manifests;
using KeplerSim.Core.Node;
using KeplerSim.Core.Runtime;
using KeplerSim.Core.Storage;
using KeplerSim.Sim.Kernel;

namespace KeplerSim.Sim.KeplerFs;

/// <summary>
/// The checkers of a KeplerFS run, separate from the protocol. <see cref="Converged"/> is the liveness target of
/// the final phase; <see cref="CheckFinal"/> lists every violated invariant once it is reached (or not).
/// </summary>
public static class ClusterChecker
{
    /// <summary>
    /// One view, every node ready, queues drained, the same winners everywhere, every live chunk on its N owners
    /// and no surplus copies.
    /// </summary>
    public static bool Converged(KeplerSimCluster cluster) => WhyNotConverged(cluster) is null;

    /// <summary>The first reason the cluster has not converged, or null when it has.</summary>
    public static string? WhyNotConverged(KeplerSimCluster cluster)
    {
        var members = cluster.View.Ids.Select(id => cluster.Sim.FindNode(id.Value)!).ToList();
        if (members.FirstOrDefault(n => n.State != SimNodeState.Running
                                        || n.Program is not KeplerNode { Ready.IsCompletedSuccessfully: true }) is { } down)
        {
            return $"{down.Name} is not running and ready";
        }

        if (members.FirstOrDefault(n => cluster.Kepler(n).QueueDepth > 0) is { } busy)
        {
            return $"{busy.Name} has {cluster.Kepler(busy).QueueDepth} replication entries queued";
        }

        var winners = members.Select(n => Winners(cluster.Kepler(n))).ToList();
        if (Enumerable.Range(1, winners.Count - 1).FirstOrDefault(i => !winners[i].SequenceEqual(winners[0])) is var i and > 0)
        {
            var diff = winners[i].Except(winners[0]).Concat(winners[0].Except(winners[i])).First();
            return $"{members[0].Name} and {members[i].Name} disagree on winners ({diff})";
        }

        var replicas = Math.Min(cluster.Options.ReplicationFactor, members.Count);
        foreach (var id in LiveChunks(cluster.Kepler(members[0])))
        {
            var owners = cluster.DurableOwnerCopies(id);
            var holders = cluster.Holders(id);
            if (owners != replicas || holders.Count != replicas)
            {
                var states = holders.Select(h => cluster.Sim.FindNode(h)!).Where(n => n.Program is KeplerNode)
                    .Select(n => $"{n.Name}:{cluster.Kepler(n).Meta.GetChunk(id)?.State.ToString() ?? "unindexed"}");
                return $"chunk {id[..12]} has {owners} of {replicas} owner copies; holders {string.Join(",", states)}";
            }
        }

        return null;
    }

    /// <summary>Every invariant the run broke, as sentences (empty when it behaved).</summary>
    public static List<string> CheckFinal(KeplerSimCluster cluster, FileWorkload? workload)
    {
        var problems = new List<string>();
        CheckChunkFiles(cluster, problems);
        if (workload is not null)
        {
            problems.AddRange(workload.Violations);
            CheckAcknowledged(cluster, workload, problems);
        }

        return problems;
    }

    /// <summary>Path → winning version (and whether it is a tombstone), as a node sees it.</summary>
    public static List<string> Winners(KeplerNode node) =>
        node.Meta.ListAllFileVersions().Where(r => r.IsWinner)
            .Select(r => $"{r.Path}={r.VersionWallUs}.{r.VersionLogical}@{r.VersionNode}{(r.Tombstone ? "-" : "")}")
            .Order(StringComparer.Ordinal).ToList();

    private static IEnumerable<string> LiveChunks(KeplerNode node) =>
        node.Meta.ListAllFileVersions().Where(r => r.IsWinner || !r.Superseded).SelectMany(r => r.ChunkIds).Distinct();

    /// <summary>Every chunk file is intact, or its node does not count it (it is known bad and being repaired).</summary>
    private static void CheckChunkFiles(KeplerSimCluster cluster, List<string> problems)
    {
        foreach (var node in cluster.Live)
        {
            var meta = cluster.Kepler(node).Meta;
            foreach (var file in node.Disk.AllFiles().Where(f => f.StartsWith("chunks/", StringComparison.Ordinal)
                                                                 && !f.StartsWith("chunks/tmp/", StringComparison.Ordinal)))
            {
                var id = file[(file.LastIndexOf('/') + 1)..];
                if (ChunkStore.IdOf(node.Disk.Peek(file)!) != id && meta.GetChunk(id) is not null)
                {
                    problems.Add($"{node.Name} counts chunk {id[..12]} but its file is corrupt and unrepaired");
                }
            }
        }
    }

    /// <summary>
    /// No acknowledged write lost: for every path, the winner everywhere is at least as new as every
    /// acknowledged write, and when it is an acknowledged write its bytes are what was written, on every node.
    /// </summary>
    private static void CheckAcknowledged(KeplerSimCluster cluster, FileWorkload workload, List<string> problems)
    {
        var live = cluster.Live.ToList();
        foreach (var group in workload.Acknowledged.GroupBy(a => a.Path, StringComparer.Ordinal))
        {
            var newest = group.MaxBy(a => Parse(a.Version))!;
            foreach (var node in live)
            {
                var winner = cluster.Kepler(node).Meta.GetWinner(group.Key);
                if (winner is null)
                {
                    problems.Add($"{node.Name} lost {group.Key}: acknowledged {newest.Version}, knows no version");
                    continue;
                }

                var token = new VersionToken(winner.VersionWallUs, (int)winner.VersionLogical, winner.VersionNode);
                if (token < Parse(newest.Version))
                {
                    problems.Add($"{node.Name} lost a write of {group.Key}: winner {token} is older than " +
                                 $"acknowledged {newest.Version}");
                }
            }

            CheckBytes(cluster, live, group.Key, newest, problems);
        }
    }

    private static void CheckBytes(KeplerSimCluster cluster, List<SimNode> live, string path, AcknowledgedWrite newest,
        List<string> problems)
    {
        var winner = cluster.Kepler(live[0]).Meta.GetWinner(path);
        if (winner is null || winner.Tombstone || newest.IsDelete
            || $"{winner.VersionWallUs}.{winner.VersionLogical}@{winner.VersionNode}" != newest.Version)
        {
            return; // A newer (unacknowledged) write or a delete won; its bytes are checked by reads instead.
        }

        foreach (var node in live)
        {
            var read = cluster.GetAsync(node, path);
            if (!cluster.Sim.RunUntil(() => read.IsCompleted, 30_000_000) || !read.IsCompletedSuccessfully)
            {
                problems.Add($"{node.Name} cannot read acknowledged {path}: {read.Exception?.GetBaseException().Message}");
            }
            else if (Convert.ToHexStringLower(SHA256.HashData(read.Result)) != newest.ContentHash)
            {
                problems.Add($"{node.Name} returns other bytes for acknowledged {path}");
            }
        }
    }

    private static VersionToken Parse(string version)
    {
        var at = version.IndexOf('@', StringComparison.Ordinal);
        var dot = version.IndexOf('.', StringComparison.Ordinal);
        return new VersionToken(long.Parse(version[..dot], System.Globalization.CultureInfo.InvariantCulture),
            int.Parse(version[(dot + 1)..at], System.Globalization.CultureInfo.InvariantCulture),
            new NodeId(version[(at + 1)..]));
    }
}
