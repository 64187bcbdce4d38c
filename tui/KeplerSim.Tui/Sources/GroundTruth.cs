using System.Globalization;
using KeplerSim.Core.Node;
using KeplerSim.Sim.Invariants;
using KeplerSim.Sim.Kernel;
using KeplerSim.Sim.Scenarios;
using KeplerSim.Tui.Model;
using Microsoft.Data.Sqlite;

namespace KeplerSim.Tui.Sources;

/// <summary>
/// Builds a <see cref="ClusterState"/> from a live simulation's ground truth: node states from the kernel,
/// partitions from the network, the ring the checkers expect, chunk files on every disk, queues in every
/// metadata database. Reads from outside the protocol; runs on the simulation's thread.
/// </summary>
internal sealed class GroundTruth(LiveScenario live, EventFold fold)
{
    /// <summary>Most under-replicated chunks listed.</summary>
    public const int UnderReplicatedListedMax = 50;

    /// <summary>What the health column says before the nodes a partition cuts a node off from.</summary>
    public const string CutOff = "cut from ";

    internal const int ShortIdLength = 12;

    public ClusterState Build(string title)
    {
        var sim = live.Simulation;
        var context = live.Context;
        var files = sim.Nodes.ToDictionary(n => n.Name, n => n.Epoch > 0
            ? context.Inspector.ChunkFiles(n)
            : (IReadOnlyList<ChunkFile>)[], StringComparer.Ordinal);
        return new ClusterState
        {
            Source = title,
            TimeMicroseconds = sim.Now,
            EndMicroseconds = live.DurationMicroseconds,
            Partition = Partitions.Describe(sim),
            Members = sim.Nodes.OrderBy(n => n.Name, StringComparer.Ordinal).Select(n => Member(n, context)).ToList(),
            Ring = Ring(context, files),
            Replication = Replication(context, files),
            NodeDetails = Details(context, files),
        };
    }

    /// <summary>The kernel's truth about a node: running, paused, down, or stopped for good.</summary>
    public static string Truth(SimNode node, CheckContext context) => node.State switch
    {
        SimNodeState.Running => "running",
        SimNodeState.Paused => "paused",
        _ when context.Stopped.Contains(node.Name) => "stopped",
        _ when node.Epoch == 0 => "not started",
        _ => "down",
    };

    private MemberRow Member(SimNode node, CheckContext context)
    {
        var truth = Truth(node, context);
        var state = fold.Swim(node.Name) is { } swim ? swim.State : truth switch
        {
            "running" => MemberState.Alive,
            "paused" => MemberState.Paused,
            "stopped" => MemberState.Left,
            _ => MemberState.Down,
        };
        var network = live.Simulation.Network;
        var cut = live.Simulation.Nodes.Where(o => !ReferenceEquals(o, node)
            && (network.IsBlocked(node, o) || network.IsBlocked(o, node))).Select(o => o.Name).ToList();
        return new MemberRow(node.Name, node.GossipAddress.ToString(), state, fold.Swim(node.Name)?.Incarnation ?? 0,
            HeardBySwim(node) is { } heard ? MonitorEvent.Seconds(heard) : fold.LastHeard(node.Name)?.TimeText ?? "",
            cut.Count > 0 ? $"{truth}, {CutOff}{string.Join(",", cut)}" : truth);
    }

    /// <summary>
    /// When a running peer last heard from the node, the freshest of their SWIM records, in virtual time (each
    /// record is an age on that peer's own clock, which may be skewed); null when no peer ever heard from it.
    /// </summary>
    private long? HeardBySwim(SimNode node)
    {
        long? latest = null;
        foreach (var peer in live.Simulation.Nodes)
        {
            if (peer.State == SimNodeState.Running && peer.Program is KeplerNode { Membership: { } swim }
                && peer.Runtime is { } runtime && swim.LastHeardMicroseconds(node.Id) is { } heard)
            {
                var at = live.Simulation.Now - (runtime.Clock.MonotonicMicroseconds - heard);
                latest = Math.Max(latest ?? at, at);
            }
        }

        return latest;
    }

    private static List<RingRow> Ring(CheckContext context,
        Dictionary<string, IReadOnlyList<ChunkFile>> files)
    {
        var shares = context.ExpectedRing().Shares();
        return context.Sim.Nodes.OrderBy(n => n.Name, StringComparer.Ordinal).Select(n => new RingRow(n.Name,
            shares.GetValueOrDefault(n.Id), files[n.Name].Count,
            files[n.Name].Sum(f => (long)(n.Disk.Peek(f.Path)?.Length ?? 0)))).ToList();
    }

    private ReplicationSummary Replication(CheckContext context,
        Dictionary<string, IReadOnlyList<ChunkFile>> files)
    {
        var sim = context.Sim;
        var referenced = new SortedSet<string>(StringComparer.Ordinal);
        long? fileCount = null;
        foreach (var node in context.Members)
        {
            if (ClusterInspector.ReferencedChunks(node) is { } ids)
            {
                referenced.UnionWith(ids);
            }

            if (FileCount(node) is { } count)
            {
                fileCount = Math.Max(fileCount ?? 0, count);
            }
        }

        var holders = new SortedDictionary<string, int>(StringComparer.Ordinal);
        foreach (var node in context.Members)
        {
            foreach (var file in files[node.Name].Where(f => f.Matches && referenced.Contains(f.Id)))
            {
                holders[file.Id] = holders.GetValueOrDefault(file.Id) + 1;
            }
        }

        var wanted = Math.Min(context.ExpectedRing().OwnerCount, context.Members.Count);
        var copies = referenced.Select(id => (Id: id, Copies: holders.GetValueOrDefault(id))).ToList();
        var under = copies.Where(c => c.Copies < wanted).ToList();
        return new ReplicationSummary
        {
            FileCount = fileCount,
            TargetCopies = wanted,
            FactorSource = FactorSource(context),
            ChunksByReplicas = copies.GroupBy(c => c.Copies).OrderBy(g => g.Key)
                .Select(g => (g.Key, (long)g.Count())).ToList(),
            UnderReplicated = under.Take(UnderReplicatedListedMax)
                .Select(c => $"{c.Id[..Math.Min(ShortIdLength, c.Id.Length)]} ({c.Copies}/{wanted})").ToList(),
            UnderReplicatedCount = under.Count,
            QueueDepths = sim.Nodes.OrderBy(n => n.Name, StringComparer.Ordinal)
                .Select(n => (n.Name, n.Epoch > 0 ? ClusterInspector.QueueDepth(n) : null)).ToList(),
            Progress = fold.Progress(),
        };
    }

    /// <summary>Where the simulated nodes' factor comes from (their metadata), or which node holds which.</summary>
    private static string FactorSource(CheckContext context)
    {
        var held = context.Members.Where(n => n.State == SimNodeState.Running)
            .Select(n => (n.Name, Settings: ClusterInspector.HeldSettings(n, out _))).ToList();
        var distinct = held.Select(h => h.Settings).Distinct().ToList();
        if (distinct.Count > 1)
        {
            return "nodes disagree (a change is spreading): " + string.Join(" ", held.Select(h =>
                $"{h.Name}={h.Settings?.ReplicationFactor.ToString(CultureInfo.InvariantCulture) ?? "configured"}"));
        }

        return distinct.FirstOrDefault() is { } s
            ? $"factor {s.ReplicationFactor}, set at runtime: version {s.Version} from {s.Origin}"
            : $"factor {context.Options.ReplicationFactor}, configured";
    }

    private static long? FileCount(SimNode node)
    {
        if (!ClusterInspector.HasKeplerSchema(node))
        {
            return null;
        }

        try
        {
            using var connection = node.Metadata.OpenForInspection();
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT count(DISTINCT path) FROM files WHERE is_winner = 1 AND tombstone = 0";
            return (long)command.ExecuteScalar()!;
        }
        catch (SqliteException)
        {
            return null; // Locked by the node's open transaction: the next snapshot reads it.
        }
    }

    private static SortedDictionary<string, IReadOnlyList<string>> Details(CheckContext context,
        Dictionary<string, IReadOnlyList<ChunkFile>> files)
    {
        var details = new SortedDictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        foreach (var node in context.Sim.Nodes)
        {
            var lines = new List<string>
            {
                $"kernel state   {Truth(node, context)} (epoch {node.Epoch})",
                $"gossip         {node.GossipAddress}",
                $"transfer       {node.TransferAddress}",
                string.Create(CultureInfo.InvariantCulture,
                    $"clock          skew {node.Clock.SkewMicroseconds}us, drift {node.Clock.DriftPpm}ppm"),
                $"chunk files    {files[node.Name].Count} ({files[node.Name].Count(f => !f.Matches)} bad)",
                $"disk files     {node.Disk.AllFiles().Count}",
            };
            if (node.Program is KeplerNode kepler)
            {
                lines.Add($"its members    {string.Join(",", kepler.Cluster.Ids)}");
                lines.Add($"its ring       {kepler.Ring.Nodes.Count} nodes, N={kepler.Ring.OwnerCount}");
            }

            details[node.Name] = lines;
        }

        return details;
    }
}

/// <summary>Describes the network's partitions as groups that can reach each other.</summary>
internal static class Partitions
{
    /// <summary>"n1,n2 | n3,n4,n5" for a symmetric split, one-way cuts as "a -> b"; null when none.</summary>
    public static string? Describe(Simulation sim)
    {
        if (!sim.Network.IsPartitioned)
        {
            return null;
        }

        var nodes = sim.Nodes;
        var group = Enumerable.Range(0, nodes.Count).ToArray();
        int Root(int i) => group[i] == i ? i : group[i] = Root(group[i]);
        var oneWay = new List<string>();
        for (var i = 0; i < nodes.Count; i++)
        {
            for (var j = i + 1; j < nodes.Count; j++)
            {
                var there = sim.Network.IsBlocked(nodes[i], nodes[j]);
                var back = sim.Network.IsBlocked(nodes[j], nodes[i]);
                if (!there && !back)
                {
                    group[Root(i)] = Root(j);
                }
                else if (there != back)
                {
                    oneWay.Add(there ? $"{nodes[i].Name} -/> {nodes[j].Name}" : $"{nodes[j].Name} -/> {nodes[i].Name}");
                }
            }
        }

        var groups = nodes.Select((n, i) => (n.Name, Root: Root(i))).GroupBy(x => x.Root)
            .Select(g => string.Join(",", g.Select(x => x.Name).Order(StringComparer.Ordinal)))
            .Order(StringComparer.Ordinal).ToList();
        var text = groups.Count > 1 ? string.Join(" | ", groups) : "";
        return oneWay.Count == 0 ? text : (text.Length > 0 ? text + "; " : "") + string.Join("; ", oneWay);
    }
}
