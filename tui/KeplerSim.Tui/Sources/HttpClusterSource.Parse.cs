using System.Text.Json;
using KeplerSim.Tui.Model;

namespace KeplerSim.Tui.Sources;

public sealed partial class HttpClusterSource
{
    /// <summary>One node's answers, parsed and checked before any of it is applied.</summary>
    private sealed record Parsed(string Id, int? HttpPort, int? GossipPort, List<ListedMember> Members,
        List<(string Id, double Share)> Ring, long? QueueDepth, RepairProgress? Progress, List<string> Details)
    {
        public (int Factor, long Version, string? Origin, int Target)? Factor { get; init; }
    }

    private static Parsed Parse(JsonElement status, JsonElement members, JsonElement ring, JsonElement replication)
    {
        NodeJson.Object(status, "/api/status");
        var id = NodeJson.Text(status, "nodeId") is { Length: > 0 } nodeId
            ? nodeId
            : throw new InvalidDataException("/api/status: no nodeId");
        var listed = new List<ListedMember>();
        foreach (var m in NodeJson.Array(members, "/api/members").EnumerateArray())
        {
            if (NodeJson.Text(m, "id") is not { Length: > 0 } memberId)
            {
                throw new InvalidDataException("/api/members: a member without an id");
            }

            listed.Add(new ListedMember(memberId, NodeJson.Text(m, "gossip") ?? "", NodeJson.Text(m, "http"),
                NodeJson.Text(m, "state") ?? "unknown", NodeJson.Number(m, "incarnation") ?? 0,
                NodeJson.Real(m, "lastHeardSecondsAgo")));
        }

        var shares = new List<(string, double)>();
        if (NodeJson.Object(ring, "/api/ring").TryGetProperty("nodes", out var nodes))
        {
            foreach (var n in NodeJson.Array(nodes, "/api/ring nodes").EnumerateArray())
            {
                shares.Add((NodeJson.Text(n, "id") ?? throw new InvalidDataException("/api/ring: a node without id"),
                    NodeJson.Real(n, "share") ?? 0));
            }
        }

        NodeJson.Object(replication, "/api/replication");
        RepairProgress? progress = null;
        if (replication.TryGetProperty("progress", out var p) && p.ValueKind == JsonValueKind.Object)
        {
            progress = new RepairProgress(NodeJson.Number(p, "chunksLeft") ?? 0, NodeJson.Number(p, "bytesLeft") ?? 0,
                NodeJson.Real(p, "chunksPerSecond") ?? 0, NodeJson.Number(p, "etaMicroseconds") ?? -1);
        }

        return new Parsed(id, NodeJson.Port(NodeJson.Text(status, "http")), NodeJson.Port(NodeJson.Text(status,
            "gossip")), listed, shares, NodeJson.Number(replication, "queueDepth"), progress, NodeJson.Lines(status))
        {
            Factor = FactorOf(status),
        };
    }

    /// <summary><c>/api/status</c>'s <c>replication</c> object: the factor in force, its runtime change, N.</summary>
    private static (int, long, string?, int)? FactorOf(JsonElement status) =>
        status.TryGetProperty("replication", out var r) && r.ValueKind == JsonValueKind.Object
            && NodeJson.Number(r, "factor") is { } factor && NodeJson.Number(r, "target") is { } target
            ? ((int)factor, NodeJson.Number(r, "version") ?? 0, NodeJson.Text(r, "origin"), (int)target)
            : null;

    /// <summary>
    /// Where the factor of the reachable nodes comes from: one runtime change they all hold, their configuration,
    /// or (while a change spreads, or behind a partition) which node holds which.
    /// </summary>
    private static string? FactorSource(List<NodeProbe> reachable)
    {
        var known = reachable.Where(p => p.Factor is not null).Select(p => (p.Key!, p.Factor!.Value)).ToList();
        if (known.Count == 0)
        {
            return null;
        }

        var distinct = known.Select(k => (k.Value.Factor, k.Value.Version, k.Value.Origin)).Distinct().ToList();
        if (distinct.Count > 1)
        {
            return "nodes disagree (a change is spreading): " + string.Join(" ", known.Select(k =>
                $"{k.Item1}={k.Value.Factor}" + (k.Value.Version > 0 ? $"@v{k.Value.Version}" : "")));
        }

        var (factor, version, origin) = distinct[0];
        return version > 0 ? $"factor {factor}, set at runtime: version {version} from {origin}"
            : $"factor {factor}, configured";
    }

    private static void Apply(NodeProbe probe, Parsed parsed)
    {
        probe.Id = parsed.Id;
        probe.HttpPort = parsed.HttpPort ?? probe.Url.Port;
        probe.GossipPort = parsed.GossipPort;
        probe.Members = parsed.Members;
        probe.Ring = parsed.Ring;
        probe.QueueDepth = parsed.QueueDepth;
        probe.Progress = parsed.Progress;
        probe.Details = parsed.Details;
        probe.Factor = parsed.Factor;
        probe.Health = probe.BadEvents > 0 ? $"ok ({probe.BadEvents} bad events)" : "ok";
    }

    private void Publish()
    {
        lock (_gate)
        {
            _states.OnNext(Build());
        }
    }

    /// <summary>The state from every probe. Caller holds the lock.</summary>
    private ClusterState Build()
    {
        var reachable = _probes.Where(p => p.LastOk is not null && p.Id is not null).ToList();
        var listed = new SortedDictionary<string, ListedMember>(StringComparer.Ordinal);
        foreach (var member in reachable.SelectMany(p => p.Members))
        {
            listed.TryAdd(member.Id, member);
        }

        foreach (var probe in _probes.Where(p => p.Key is not null))
        {
            listed.TryAdd(probe.Key!, new ListedMember(probe.Key!, "", null, "unknown", 0));
        }

        // A member SWIM declared dead may be gone from every list; the events still tell of it.
        foreach (var id in _fold.SwimMembers)
        {
            listed.TryAdd(id, new ListedMember(id, "", null, "unknown", 0));
        }

        var byId = _probes.Where(p => p.Key is not null).GroupBy(p => p.Key!).ToDictionary(g => g.Key, g => g.First(),
            StringComparer.Ordinal);
        var heard = HeardBySwim(reachable);
        var ring = reachable.FirstOrDefault()?.Ring ?? [];
        var reported = reachable.Where(p => p.Progress is not null).Select(p => p.Progress!).ToList();
        return new ClusterState
        {
            Source = Title,
            Status = reachable.Count == 0 ? "no node answers: " + _probes[0].Health : null,
            Members = listed.Values.Select(m => Member(m, byId.GetValueOrDefault(m.Id), heard.GetValueOrDefault(m.Id)))
                .ToList(),
            Ring = ring.Select(r => new RingRow(r.Id, r.Share, byId.GetValueOrDefault(r.Id)?.StoredChunks, null))
                .ToList(),
            Replication = new ReplicationSummary
            {
                FileCount = reachable.Max(p => p.FileCount),
                FileCountIsLowerBound = reachable.Any(p => p.FileCountTruncated),
                ChunksByReplicas = ByCopies(reachable),
                TargetCopies = reachable.Where(p => p.Factor is not null).Select(p => (int?)p.Factor!.Value.Target)
                    .Max(),
                FactorSource = FactorSource(reachable),
                UnderReplicated = UnderReplicatedList(reachable),
                UnderReplicatedCount = UnderReplicatedCount(reachable),
                QueueDepths = listed.Keys.Select(id => (id, byId.GetValueOrDefault(id)?.QueueDepth)).ToList(),
                Progress = reported.Count > 0
                    ? new RepairProgress(reported.Sum(r => r.ChunksLeft), reported.Sum(r => r.BytesLeft),
                        reported.Sum(r => r.ChunksPerSecond), reported.Max(r => r.EtaMicroseconds))
                    : _fold.Progress(),
            },
            NodeDetails = byId.ToDictionary(kv => kv.Key, kv => (IReadOnlyList<string>)
                [$"{"url",-26} {kv.Value.Url}", $"{"health",-26} {kv.Value.Health}", .. kv.Value.Details],
                StringComparer.Ordinal),
        };
    }

    /// <summary>
    /// Each under-replicated chunk any node reported, with the fewest copies any of them knows of. A node only knows
    /// its own queue, so the union over the reachable nodes is the cluster's picture.
    /// </summary>
    private static SortedDictionary<string, int> UnderReplicatedUnion(IEnumerable<NodeProbe> reachable)
    {
        var union = new SortedDictionary<string, int>(StringComparer.Ordinal);
        foreach (var (id, copies) in reachable.Where(p => p.UnderReplicated is not null)
                     .SelectMany(p => p.UnderReplicated!.Chunks))
        {
            union[id] = Math.Min(copies, union.GetValueOrDefault(id, int.MaxValue));
        }

        return union;
    }

    /// <summary>
    /// Referenced chunks by copies: every node holds every manifest (anti-entropy), so the largest referenced
    /// count is the cluster's; the chunks not reported under-replicated have N copies.
    /// </summary>
    private static IReadOnlyList<(int Replicas, long Chunks)>? ByCopies(List<NodeProbe> reachable)
    {
        var reports = reachable.Where(p => p.UnderReplicated is not null).Select(p => p.UnderReplicated!).ToList();
        if (reports.Count == 0)
        {
            return null;
        }

        var target = reports.Max(r => r.Target);
        var union = UnderReplicatedUnion(reachable);
        var full = Math.Max(0, reports.Max(r => r.Referenced) - Math.Max(union.Count, reports.Max(r => r.Total)));
        return union.GroupBy(c => c.Value).Select(g => (g.Key, (long)g.Count()))
            .Append((target, full)).Where(c => c.Item2 > 0).OrderBy(c => c.Item1).ToList();
    }

    private static IReadOnlyList<string>? UnderReplicatedList(List<NodeProbe> reachable)
    {
        var reports = reachable.Where(p => p.UnderReplicated is not null).ToList();
        if (reports.Count == 0)
        {
            return null;
        }

        var target = reports.Max(p => p.UnderReplicated!.Target);
        return UnderReplicatedUnion(reachable).Take(GroundTruth.UnderReplicatedListedMax)
            .Select(c => $"{c.Key[..Math.Min(GroundTruth.ShortIdLength, c.Key.Length)]} ({c.Value}/{target})")
            .ToList();
    }

    /// <summary>The union's size, or a node's own total when that is larger (its list was only the first page).</summary>
    private static long? UnderReplicatedCount(List<NodeProbe> reachable)
    {
        var reports = reachable.Where(p => p.UnderReplicated is not null).Select(p => p.UnderReplicated!).ToList();
        return reports.Count == 0 ? null : Math.Max(UnderReplicatedUnion(reachable).Count, reports.Max(r => r.Total));
    }

    /// <summary>
    /// When the cluster last heard from each member: the freshest of the nodes' own SWIM records
    /// (<c>lastHeardSecondsAgo</c> in their member lists, taken back from when each list was read).
    /// </summary>
    private static SortedDictionary<string, DateTimeOffset> HeardBySwim(List<NodeProbe> reachable)
    {
        var heard = new SortedDictionary<string, DateTimeOffset>(StringComparer.Ordinal);
        foreach (var probe in reachable)
        {
            foreach (var member in probe.Members)
            {
                if (member.LastHeardSecondsAgo is { } ago && probe.LastOk is { } read)
                {
                    var at = read - TimeSpan.FromSeconds(ago);
                    heard[member.Id] = heard.TryGetValue(member.Id, out var other) && other > at ? other : at;
                }
            }
        }

        return heard;
    }

    /// <summary>
    /// A member's row. Last heard: the latest real record, the monitor's own answer from its API or a peer's SWIM
    /// record of it; only without either the last event that named it.
    /// </summary>
    private MemberRow Member(ListedMember member, NodeProbe? probe, DateTimeOffset? heardBySwim)
    {
        var swim = _fold.Swim(member.Id);
        var state = swim?.State ?? member.State switch
        {
            "alive" => MemberState.Alive,
            "suspect" => MemberState.Suspect,
            "dead" => MemberState.Dead,
            "left" => MemberState.Left,
            _ => MemberState.Unknown,
        };
        var latest = (probe?.LastOk, heardBySwim) switch
        {
            ({ } ok, { } peers) => ok > peers ? ok : peers,
            (var ok, var peers) => ok ?? peers,
        };
        var heard = latest is { } at
            ? at.ToLocalTime().ToString("HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture)
            : _fold.LastHeard(member.Id)?.TimeText ?? "";
        return new MemberRow(member.Id, member.Gossip, state, Math.Max(swim?.Incarnation ?? 0, member.Incarnation),
            heard, probe?.Health ?? "no API address");
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _timer?.Dispose();
        _stop.Cancel();
        _client.Dispose();
        lock (_gate)
        {
            _states.OnCompleted();
            _events.OnCompleted();
        }

        _stop.Dispose();
    }
}
