using System.Net.Http.Json;
using System.Text.Json;
using KeplerSim.Core.Manifests;
using KeplerSim.Core.Node;
using KeplerSim.Sim.Invariants;

namespace KeplerSim.Sim.Real;

internal sealed partial class RealScenarioRun
{
    private readonly SortedSet<(string Node, string Id)> _knownCorrupt = [];
    private readonly SortedDictionary<(string Node, string Path), VersionToken> _highestWinners = [];
    private readonly SortedDictionary<string, (long Time, string Detail)> _safetyViolations =
        new(StringComparer.Ordinal);
    private Core.Membership.ClusterSettings? _replicationSetting;

    /// <summary>Why an invariant cannot be checked against real nodes (null: it can).</summary>
    private static string? RealNotApplicable(string name) => name switch
    {
        InvariantCatalog.CopiesDurableAtAck or InvariantCatalog.NoIntactCopyCondemned
            or InvariantCatalog.OrphansKeepAckedCopies or InvariantCatalog.ReplicasDurableAndVerified =>
            "judged at the instant of a protocol event (an acknowledgement, a condemned copy, a durable write) from " +
            "the simulator's trace and disk model; a real node exposes neither the instant nor fsync state",
        InvariantCatalog.NoFalseDead or InvariantCatalog.NoFalseSuspicion =>
            "needs the kernel's ground truth of who was reachable when; real mode would have to reconstruct it " +
            "from every node's /api/events stream (not done yet)",
        InvariantCatalog.OutsiderChangesNothing => "real mode has no outsider attacker",
        _ => null,
    };

    /// <summary>Runs the named check over the real nodes (null: it holds).</summary>
    private async Task<string?> CheckAsync(string name) => name switch
    {
        InvariantCatalog.ChunksMatchIds => ChunksMatchIds(),
        InvariantCatalog.AllNodesRunning => AllNodesRunning(),
        InvariantCatalog.QueuesEmpty => QueuesEmpty(),
        InvariantCatalog.ReplicasOnOwners => Placement(surplus: false),
        InvariantCatalog.NoSurplusCopies => Placement(surplus: true),
        InvariantCatalog.CorruptChunksRepaired => CorruptChunksRepaired(),
        InvariantCatalog.MembershipConverged => await MembershipConvergedAsync(),
        InvariantCatalog.WinnersAgree => WinnersAgree(),
        InvariantCatalog.ReadsReturnWrittenBytes => ReadsReturnWrittenBytes(),
        InvariantCatalog.VersionsNeverRegress => VersionsNeverRegress(),
        InvariantCatalog.ReplicationFactorConverged => ReplicationFactorConverged(),
        InvariantCatalog.GarbageCollected => GarbageCollected(),
        _ => null,
    };

    private string? ReadsReturnWrittenBytes()
    {
        lock (_gate)
        {
            return InvariantChecks.ReadsReturnWrittenBytes(_ledger);
        }
    }

    private string? ChunksMatchIds()
    {
        var bad = new List<string>();
        foreach (var node in _nodes.Values.Where(n => n.Epoch > 0))
        {
            bad.AddRange(_inspector.ChunkFiles(node.Spec.DataDir)
                .Where(f => !f.Matches && !_knownCorrupt.Contains((node.Spec.Name, f.Id)))
                .Select(f => f.Path));
        }

        return bad.Count == 0 ? null : $"{bad.Count} chunk file(s) do not match their id and no fault explains it: " +
            InvariantChecks.Examples(bad);
    }

    private string? AllNodesRunning()
    {
        var down = Members.Where(n => !n.Running || n.Paused)
            .Select(n => $"{n.Spec.Name} {(n.Paused ? "Paused" : "Down")}").ToList();
        return down.Count == 0 ? null : "not running: " + string.Join(", ", down);
    }

    private string? QueuesEmpty()
    {
        var busy = new List<string>();
        foreach (var node in Live)
        {
            var depth = RealInspector.Query<long?>(node.Spec.DataDir, c => MetadataQueries.QueueDepth(c));
            if (depth != 0)
            {
                busy.Add(depth is null ? $"{node.Spec.Name} unreadable" : $"{node.Spec.Name} {depth}");
            }
        }

        return busy.Count == 0 ? null : "queue entries: " + InvariantChecks.Examples(busy, 8);
    }

    private string? CorruptChunksRepaired()
    {
        var bad = Live.SelectMany(n => _inspector.ChunkFiles(n.Spec.DataDir).Where(f => !f.Matches)
            .Select(f => $"{n.Spec.Name}:{f.Id[..12]}")).ToList();
        return bad.Count == 0 ? null : $"{bad.Count} corrupt chunk file(s) remain: " + InvariantChecks.Examples(bad);
    }

    private int ReplicationFactor => Math.Min(_replicationSetting?.ReplicationFactor
        ?? _scenario.Cluster.ReplicationFactor, Core.Ring.RingOptions.ReplicationFactorMax);

    /// <summary>The simulator's placement check: chunks referenced by live nodes' metadata on their owners by the
    /// independent <see cref="PlacementReference"/> (the real node's default virtual nodes), and nowhere else.
    /// </summary>
    private string? Placement(bool surplus)
    {
        var live = Live;
        var referenced = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var node in live)
        {
            if (RealInspector.Query(node.Spec.DataDir, MetadataQueries.ReferencedChunks) is not { } ids)
            {
                return $"metadata of {node.Spec.Name} unreadable (busy)";
            }

            referenced.UnionWith(ids);
        }

        var held = live.ToDictionary(n => n.Spec.Name, n => new SortedSet<string>(_inspector
            .ChunkFiles(n.Spec.DataDir).Where(f => f.Matches).Select(f => f.Id), StringComparer.Ordinal));
        var placement = new PlacementReference(Members.Select(n => n.Spec.Name),
            new KeplerOptions().VirtualNodesPerNode, ReplicationFactor);
        var problems = new List<string>();
        foreach (var id in referenced)
        {
            var owners = placement.OwnersOf(id);
            problems.AddRange(surplus
                ? held.Where(kv => kv.Value.Contains(id) && !owners.Contains(kv.Key, StringComparer.Ordinal))
                    .Select(kv => $"{id[..12]} surplus on {kv.Key}")
                : owners.Where(o => !held.TryGetValue(o, out var set) || !set.Contains(id))
                    .Select(o => $"{id[..12]} missing on {o}"));
        }

        return problems.Count == 0 ? null : $"{problems.Count} of {referenced.Count} chunk(s): " +
            InvariantChecks.Examples(problems);
    }

    private string? WinnersAgree()
    {
        var views = new List<(string Node, SortedDictionary<string, string> Winners)>();
        foreach (var node in Live)
        {
            if (RealInspector.Query(node.Spec.DataDir, MetadataQueries.WinningVersions) is not { } winners)
            {
                return $"metadata of {node.Spec.Name} unreadable (busy)";
            }

            views.Add((node.Spec.Name, new SortedDictionary<string, string>(
                winners.ToDictionary(w => w.Path, w => w.Version.ToString()), StringComparer.Ordinal)));
        }

        var differ = new List<string>();
        for (var i = 1; i < views.Count; i++)
        {
            var (a, b) = (views[0], views[i]);
            foreach (var path in a.Winners.Keys.Union(b.Winners.Keys).Order(StringComparer.Ordinal))
            {
                var left = a.Winners.GetValueOrDefault(path) ?? "nothing";
                var right = b.Winners.GetValueOrDefault(path) ?? "nothing";
                if (left != right)
                {
                    differ.Add($"{path}: {a.Node} has {left}, {b.Node} has {right}");
                }
            }
        }

        return differ.Count == 0 ? null : $"{differ.Count} disagreement(s): " + InvariantChecks.Examples(differ);
    }

    private string? VersionsNeverRegress()
    {
        var bad = new List<string>();
        foreach (var node in _nodes.Values.Where(n => n.Epoch > 0))
        {
            foreach (var (path, version) in RealInspector.Query(node.Spec.DataDir, MetadataQueries.WinningVersions)
                ?? [])
            {
                var key = (node.Spec.Name, path);
                if (_highestWinners.TryGetValue(key, out var highest) && version < highest)
                {
                    bad.Add($"{node.Spec.Name}:{path} winner went back from {highest} to {version}");
                    continue;
                }

                _highestWinners[key] = version;
            }
        }

        return bad.Count == 0 ? null : $"{bad.Count} winner(s) replaced by an older version: " +
            InvariantChecks.Examples(bad);
    }

    private string? ReplicationFactorConverged()
    {
        var off = new List<string>();
        foreach (var node in Live)
        {
            if (RealInspector.Query(node.Spec.DataDir, MetadataQueries.HeldSettings) is not { } text)
            {
                return $"metadata of {node.Spec.Name} unreadable (busy)";
            }

            var held = Core.Membership.ClusterSettings.Parse(text);
            if (held != _replicationSetting)
            {
                off.Add($"{node.Spec.Name} holds {(held is null ? "no runtime change" : held.ReplicationFactor)}");
            }
        }

        return off.Count == 0 ? null : $"expected {_replicationSetting?.ReplicationFactor.ToString(
            System.Globalization.CultureInfo.InvariantCulture) ?? "no runtime change"}: " +
            InvariantChecks.Examples(off, 8);
    }

    /// <summary>Garbage due by the host's clock (a real node's GC grace is its default hour, so this holds unless
    /// the run is that long).</summary>
    private string? GarbageCollected()
    {
        var options = new KeplerOptions();
        var slack = options.GcGraceMicroseconds + 2 * options.GcIntervalMicroseconds;
        var horizon = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1000 - slack;
        var left = new List<string>();
        foreach (var node in Live)
        {
            if (RealInspector.Query(node.Spec.DataDir, c => MetadataQueries.UncollectedGarbage(c, horizon))
                is not { } garbage)
            {
                return $"metadata of {node.Spec.Name} unreadable (busy)";
            }

            left.AddRange(garbage.Select(g => $"{node.Spec.Name}: {(g.Length > 24 ? g[..24] : g)}"));
        }

        return left.Count == 0 ? null : $"{left.Count} garbage item(s) due remain: " + InvariantChecks.Examples(left);
    }

    /// <summary>Each live node's ring (members in its ring, from <c>/api/members</c>) equals the expected members.
    /// </summary>
    private async Task<string?> MembershipConvergedAsync()
    {
        var expected = string.Join(",", Members.Select(n => n.Spec.Name).Order(StringComparer.Ordinal));
        var differ = new List<string>();
        foreach (var node in Live)
        {
            string? seen;
            try
            {
                using var bound = CancellationTokenSource.CreateLinkedTokenSource(Token);
                bound.CancelAfter(TimeSpan.FromSeconds(5));
                var members = await _http.GetFromJsonAsync<JsonElement>(new Uri(node.Spec.Url, "api/members"),
                    bound.Token);
                seen = string.Join(",", members.EnumerateArray()
                    .Where(m => m.TryGetProperty("inRing", out var r) && r.GetBoolean())
                    .Select(m => m.GetProperty("id").GetString()).Order(StringComparer.Ordinal));
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException)
            {
                seen = null;
            }

            if (seen != expected)
            {
                differ.Add($"{node.Spec.Name} sees [{seen ?? "nothing (no answer)"}]");
            }
        }

        return differ.Count == 0 ? null : $"expected [{expected}]: " + InvariantChecks.Examples(differ);
    }
}
