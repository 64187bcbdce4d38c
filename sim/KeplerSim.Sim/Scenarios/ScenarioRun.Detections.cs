using System.Globalization;
using KeplerSim.Sim.Invariants;
using KeplerSim.Sim.Kernel;

namespace KeplerSim.Sim.Scenarios;

/// <summary>
/// Failure detection as the report shows it: each time the kernel made a node unreachable (a crash, a pause, a
/// partition) is an episode; the first time another node's membership declared it dead is the detection, and the
/// time between the two is its latency. The ground truth is the kernel's; the declaration is the protocol's own
/// <c>member.dead</c> event. The harness only watches.
/// </summary>
internal sealed partial class ScenarioRun
{
    private readonly List<Detection> _detections = [];

    /// <summary>Notes what the kernel did to a node, and the protocol's death declarations.</summary>
    private void ObserveDetection(TraceRecord record)
    {
        switch (record.Kind)
        {
            case TraceKind.NodeCrashed when !_context.Stopped.Contains(record.Node):
                _detections.Add(new Detection(record.Node, "crash", record.TimeMicroseconds));
                break;
            case TraceKind.NodeStarted:
                EndEpisodes(record.Node, "crash", record.TimeMicroseconds);
                break;
            case TraceKind.NodePaused:
                _detections.Add(new Detection(record.Node, "pause", record.TimeMicroseconds));
                break;
            case TraceKind.NodeResumed:
                EndEpisodes(record.Node, "pause", record.TimeMicroseconds);
                break;
            case TraceKind.Partition when record.Detail == "heal":
                EndEpisodes(null, "partition", record.TimeMicroseconds);
                break;
            case TraceKind.Partition when record.Detail is { } groups:
                foreach (var node in groups.Split([" | ", " -> ", ","], StringSplitOptions.RemoveEmptyEntries)
                    .Where(n => !_detections.Any(d => d.Node == n && d.Cause == "partition" && d.EndedAt is null)))
                {
                    _detections.Add(new Detection(node, "partition", record.TimeMicroseconds));
                }

                break;
            case TraceKind.Protocol when MemberEventRecord.Parse(record) is { Kind: "dead" } dead:
                Declared(dead.Observer, dead.Member, dead.At);
                break;
        }
    }

    private void Declared(string observer, string target, long time)
    {
        if (observer == target)
        {
            return;
        }

        // The latest episode of the target still in force, or over so recently that a suspicion begun during it may
        // only now have run out (a death declared just after a heal or a restart is still that episode's).
        var window = SuspicionWindowMicroseconds();
        var open = _detections.LastOrDefault(d => d.Node == target && d.Since <= time
            && (d.EndedAt is null || time - d.EndedAt <= window));
        if (open is null)
        {
            Count("detect.unexplained");
            AddTimeline($"{observer} declares {target} dead while it runs and is reachable", time);
            return;
        }

        if (open.DetectedAt is null)
        {
            open.DetectedAt = time;
            open.By = observer;
            AddTimeline($"{observer} declares {target} dead ({Seconds(time - open.Since)} after its {open.Cause})",
                time);
        }
    }

    private void EndEpisodes(string? node, string cause, long time)
    {
        foreach (var episode in _detections.Where(d => (node is null || d.Node == node) && d.Cause == cause
            && d.EndedAt is null))
        {
            episode.EndedAt = time;
        }
    }

    /// <summary>The longest a SWIM suspicion can last in this cluster (Lifeguard's maximum), plus a probe.</summary>
    private long SuspicionWindowMicroseconds()
    {
        var swim = _scenario.Cluster.Swim.ToOptions();
        var minimum = swim.SuspicionMultiplier * Math.Max(1, Math.Log10(_sim.Nodes.Count))
            * swim.ProbeIntervalMicroseconds;
        return (long)(minimum * swim.SuspicionMaxTimeoutMultiplier) + swim.ProbeIntervalMicroseconds;
    }

    /// <summary>Detection metrics per cause: episodes, detected, latency mean and max in seconds.</summary>
    private void AddDetectionMetrics(SortedDictionary<string, double> metrics)
    {
        foreach (var group in _detections.GroupBy(d => d.Cause))
        {
            var latencies = group.Where(d => d.DetectedAt is not null).Select(d => d.Latency!.Value / 1e6).ToList();
            metrics[$"detect.{group.Key}.episodes"] = group.Count();
            metrics[$"detect.{group.Key}.detected"] = latencies.Count;
            if (latencies.Count > 0)
            {
                metrics[$"detect.{group.Key}.latency_mean_seconds"] = Math.Round(latencies.Average(), 3);
                metrics[$"detect.{group.Key}.latency_max_seconds"] = latencies.Max();
            }
        }
    }

    /// <summary>One line per episode, for the report.</summary>
    private List<string> DetectionLines() => _detections.Select(d =>
    {
        var what = $"{d.Node} {Verb(d.Cause)} at {Seconds(d.Since)}";
        return d switch
        {
            { DetectedAt: { } at } => $"{what}: declared dead by {d.By} at {Seconds(at)}, " +
                $"latency {Seconds(at - d.Since)}",
            { EndedAt: { } end } => $"{what}: back after {Seconds(end - d.Since)}, before any node declared it dead",
            _ => $"{what}: never declared dead",
        };
    }).ToList();

    private static string Verb(string cause) => cause switch
    {
        "crash" => "crashed",
        "pause" => "paused",
        _ => "cut off by a partition",
    };

    /// <summary>The report's file and copy lines: what was written and read back, and copies per chunk.</summary>
    private List<string> StorageLines()
    {
        var lines = new List<string>();
        var puts = _ledger.Ops.Where(o => o.Kind == FileOpKind.Put).ToList();
        var acknowledged = puts.Where(o => o.Outcome == "ok").ToList();
        var gets = _ledger.Ops.Where(o => o.Kind == FileOpKind.Get).ToList();
        var megabytes = acknowledged.Sum(o => o.SizeBytes) / 1e6;
        var outcomes = gets.Count == 0 ? "none" : string.Join(", ", gets.GroupBy(o => o.Outcome ?? "pending")
            .OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => $"{g.Count()} {g.Key}"));
        var paths = acknowledged.Select(o => o.Path).Distinct(StringComparer.Ordinal).Count();
        lines.Add(string.Create(CultureInfo.InvariantCulture,
            $"files: {acknowledged.Count} of {puts.Count} put(s) acknowledged ({megabytes:0.###} MB, {paths} " +
            $"path(s)); {gets.Count} get(s): {outcomes}"));
        if (!_protocol.Capabilities.HasFlag(ProtocolCapabilities.Chunks))
        {
            return lines;
        }

        var live = _context.Live;
        var referenced = new SortedSet<string>(live.SelectMany(n => ClusterInspector.ReferencedChunks(n) ?? []),
            StringComparer.Ordinal);
        var holders = live.SelectMany(n => _context.Inspector.ChunkFiles(n).Where(f => f.Matches)
            .Select(f => (n.Name, f.Id))).Distinct().GroupBy(h => h.Id)
            .ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        var histogram = referenced.GroupBy(id => holders.GetValueOrDefault(id)).OrderBy(g => g.Key)
            .Select(g => $"{g.Count()} with {g.Key}");
        lines.Add($"copies per chunk: {referenced.Count} chunk(s) referenced on {live.Count} live node(s): " +
            (referenced.Count == 0 ? "none" : string.Join(", ", histogram)) +
            $" (replication factor {_scenario.Cluster.ReplicationFactor})");
        return lines;
    }

    /// <summary>One failure-detection episode.</summary>
    private sealed class Detection(string node, string cause, long since)
    {
        public string Node => node;

        public string Cause => cause;

        public long Since => since;

        public long? DetectedAt { get; set; }

        public string? By { get; set; }

        public long? EndedAt { get; set; }

        public long? Latency => DetectedAt - Since;
    }
}
