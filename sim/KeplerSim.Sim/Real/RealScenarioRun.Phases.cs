using KeplerSim.Core.Node;
using KeplerSim.Sim.Invariants;
using KeplerSim.Sim.Scenarios;

namespace KeplerSim.Sim.Real;

internal sealed partial class RealScenarioRun
{
    private const string OperationsSettled = "client_operations_settled";
    private static readonly TimeSpan FinalReadTimeout = TimeSpan.FromSeconds(60);

    private IReadOnlyList<string> Invariants => _scenario.Expect.Invariants ?? InvariantCatalog.Names;

    /// <summary>Declared invariants of a phase that real mode can check.</summary>
    private IEnumerable<string> Declared(InvariantPhase phase) => Invariants.Where(name =>
        InvariantCatalog.Get(name) is var info && info.Phase == phase && NotApplicable(name) is null);

    private static string? NotApplicable(string name) =>
        InvariantCatalog.NotApplicableReason(InvariantCatalog.Get(name), ProtocolRegistry.CapabilitiesOf("keplerfs"),
            "keplerfs") ?? RealNotApplicable(name);

    private async Task SafetyTickAsync()
    {
        if (_finished)
        {
            return;
        }

        await SafetyCheckAsync();
        Schedule(_scenario.Expect.CheckInterval.Microseconds, SafetyTickAsync);
    }

    private void SafetyCheck() => SafetyCheckAsync().GetAwaiter().GetResult();

    private async Task SafetyCheckAsync()
    {
        foreach (var name in Declared(InvariantPhase.Safety))
        {
            if (!_safetyViolations.ContainsKey(name) && await CheckAsync(name) is { } violation)
            {
                _safetyViolations[name] = (Now, violation);
                AddTimeline($"VIOLATION {name}: {violation}");
            }
        }
    }

    private void EvaluateSafety()
    {
        foreach (var name in Invariants.Where(n => InvariantCatalog.Get(n).Phase == InvariantPhase.Safety))
        {
            var info = InvariantCatalog.Get(name);
            _expectations.Add(NotApplicable(name) is { } reason
                ? new Expectation(name, ExpectationStatus.NotApplicable, reason)
                : _safetyViolations.TryGetValue(name, out var violation)
                    ? new Expectation(name, ExpectationStatus.Fail,
                        $"first violated at {ScenarioRun.Seconds(violation.Time)}: {violation.Detail}")
                    : new Expectation(name, ExpectationStatus.Pass, info.Meaning +
                        $" (polled every {_scenario.Expect.CheckInterval} from the nodes' files and metadata)"));
        }
    }

    private async Task LivenessAsync()
    {
        var checks = Declared(InvariantPhase.Liveness).Where(n => n != InvariantCatalog.AcknowledgedWritesReadable)
            .ToList();
        var start = Now;
        var deadline = start + _scenario.Expect.ConvergeWithin.Microseconds;
        var last = new SortedDictionary<string, string?>(StringComparer.Ordinal);
        while (true)
        {
            foreach (var name in checks)
            {
                last[name] = await CheckAsync(name);
            }

            last[OperationsSettled] = PendingOperations();
            if (last.Values.All(v => v is null))
            {
                _convergedAfter = Now - start;
                AddTimeline($"converged after {ScenarioRun.Seconds(_convergedAfter.Value)}");
                break;
            }

            if (Now >= deadline)
            {
                AddTimeline($"not converged within {_scenario.Expect.ConvergeWithin}");
                break;
            }

            await Task.Delay(TimeSpan.FromMicroseconds(ConvergePollMicroseconds), Token);
        }

        var bound = _scenario.Expect.ConvergeWithin;
        _expectations.Add(_convergedAfter is { } after
            ? new Expectation($"converged within {bound}", ExpectationStatus.Pass,
                $"converged after {ScenarioRun.Seconds(after)} (wall clock)")
            : new Expectation($"converged within {bound}", ExpectationStatus.Fail, "still failing at the bound: " +
                string.Join("; ", last.Where(kv => kv.Value is not null).Select(kv => $"{kv.Key}: {kv.Value}"))));
        if (_options.BeforeFinalChecks is { } hook)
        {
            await hook(_nodes.ToDictionary(kv => kv.Key, kv => kv.Value.Spec.DataDir, StringComparer.Ordinal));
        }

        foreach (var name in Invariants.Where(n => InvariantCatalog.Get(n).Phase == InvariantPhase.Liveness))
        {
            _expectations.Add(NotApplicable(name) is { } reason
                ? new Expectation(name, ExpectationStatus.NotApplicable, reason)
                : name == InvariantCatalog.AcknowledgedWritesReadable
                    ? await CheckAcknowledgedReadsAsync()
                    : last.GetValueOrDefault(name) is { } failure
                        ? new Expectation(name, ExpectationStatus.Fail, failure)
                        : new Expectation(name, ExpectationStatus.Pass, InvariantCatalog.Get(name).Meaning));
        }
    }

    /// <summary>Null when every operation issued to a node's current incarnation has completed, else how many are
    /// pending.</summary>
    private string? PendingOperations()
    {
        lock (_gate)
        {
            return _ledger.Ops.Count(o => o.Outcome is null && _nodes[o.Node] is var node && node.Epoch == o.Epoch
                && node.Running) is var n and > 0 ? $"{n} operation(s) pending" : null;
        }
    }

    /// <summary>
    /// The simulator's final read check over HTTP: every path with an acknowledged write, read from every live
    /// node, against the ledger's allowed results, and all nodes alike. A failing path also names the winner's
    /// chunks that no data directory holds intact.
    /// </summary>
    private async Task<Expectation> CheckAcknowledgedReadsAsync()
    {
        const string name = InvariantCatalog.AcknowledgedWritesReadable;
        List<string> paths;
        Dictionary<string, AllowedRead> allowed;
        lock (_gate)
        {
            paths = [.. _ledger.AcknowledgedPaths().Take(FinalReadPathsMax)];
            allowed = paths.ToDictionary(p => p, p => _ledger.Allowed(p)!, StringComparer.Ordinal);
        }

        var live = Live;
        var reads = paths.SelectMany(p => live.Select(n => Issue(FileOpKind.Get, p, n, null, Durability.Fast,
            record: false))).ToList();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (reads.Any(r => r.Outcome is null) && clock.Elapsed < FinalReadTimeout)
        {
            await Task.Delay(50, Token);
        }

        var problems = new List<string>();
        foreach (var group in reads.GroupBy(r => r.Path, StringComparer.Ordinal))
        {
            var rule = allowed[group.Key];
            var before = problems.Count;
            foreach (var read in group.Where(r => !ReadFine(r, rule)))
            {
                var got = read.Outcome is null ? "no answer" : read.Outcome + (read.Outcome == "ok"
                    ? " sha256 " + read.Detail![..12] : read.Detail is { } d ? ": " + d : "");
                problems.Add($"{group.Key} on {read.Node}: {got}, expected " + Describe(rule));
            }

            if (group.Select(r => r.Outcome + r.Detail).Distinct(StringComparer.Ordinal).Count() > 1)
            {
                problems.Add($"{group.Key}: nodes disagree");
            }

            if (problems.Count > before && LostChunks(group.Key) is { } lost)
            {
                problems.Insert(before, lost); // First: the cause, before the reads it broke.
            }
        }

        var summary = $"{paths.Count} path(s) x {live.Count} node(s), {reads.Count} reads over HTTP" +
            (reads.All(r => r.Outcome is not null) ? "" : $", some unanswered after {FinalReadTimeout.TotalSeconds} s");
        return problems.Count == 0
            ? new Expectation(name, ExpectationStatus.Pass, summary)
            : new Expectation(name, ExpectationStatus.Fail, $"{summary}; {problems.Count} problem(s): " +
                InvariantChecks.Examples(problems));
    }

    private bool ReadFine(FileOp read, AllowedRead rule)
    {
        if ((read.Outcome == "ok" && rule.Hashes.Contains(read.Detail!))
            || (read.Outcome == "not_found" && rule.NotFoundAllowed))
        {
            return true;
        }

        bool written;
        lock (_gate)
        {
            written = read.Outcome == "not_found" || (read.Outcome == "ok" && _ledger.Ops.Any(o =>
                o.Kind == FileOpKind.Put && o.Path == read.Path && o.ContentHash == read.Detail));
        }

        // Kept under a concurrent winner (ScenarioRun.KeptUnderConcurrentWinner): L stays as a conflict version.
        return written && rule.LastAcknowledged.Version is { } text && ClusterInspector.ParseVersion(text) is { } v
            && _nodes[read.Node].Spec.DataDir is var dataDir
            && RealInspector.TryQuery(dataDir, c => MetadataQueries.VersionState(c, read.Path, v), out var state)
            && state is { Kept: true, Winner: { } winner } && winner > v;
    }

    /// <summary>The winner's chunks of <paramref name="path"/> (by any live node's metadata) that no data directory
    /// holds intact, with where they were expected; null if none is missing.</summary>
    private string? LostChunks(string path)
    {
        var ids = Live.Select(n => RealInspector.TryQuery(n.Spec.DataDir, c => MetadataQueries.WinnerChunks(c, path),
            out var chunks) ? chunks : null).FirstOrDefault(c => c is { Count: > 0 });
        if (ids is null)
        {
            return null;
        }

        var intact = _nodes.Values.SelectMany(n => _inspector.ChunkFiles(n.Spec.DataDir))
            .Where(f => f.Matches).Select(f => f.Id).ToHashSet(StringComparer.Ordinal);
        var lost = ids.Distinct(StringComparer.Ordinal).Where(id => !intact.Contains(id)).ToList();
        PlacementReference placement;
        lock (_checkGate)
        {
            placement = _cluster.ExpectedPlacement();
        }

        string Where(string id) => string.Join(", ", placement.OwnersOf(id)
            .Select(o => Path.Combine(_nodes[o].Spec.DataDir, Core.Storage.ChunkStore.PathOf(id))));
        return lost.Count == 0 ? null : $"{path}: {lost.Count} chunk(s) with no intact copy in any data directory: " +
            InvariantChecks.Examples(lost.Select(id => $"{id[..12]} (owners' files {Where(id)})").ToList());
    }

    private static string Describe(AllowedRead rule) =>
        string.Join(" or ", rule.Hashes.Select(h => "sha256 " + h[..12]).Concat(rule.NotFoundAllowed
            ? ["not_found"] : []))
        + $" (last acknowledged: {rule.LastAcknowledged.Kind.ToString().ToLowerInvariant()} " +
        $"at {ScenarioRun.Seconds(rule.LastAcknowledged.IssuedAt)} on {rule.LastAcknowledged.Node})";
}
