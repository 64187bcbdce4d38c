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
            bool seen;
            lock (_checkGate)
            {
                seen = _safetyViolations.ContainsKey(name); // The event checkers add theirs from the readers.
            }

            if (!seen && await CheckAsync(name) is { } violation)
            {
                lock (_checkGate)
                {
                    _safetyViolations.TryAdd(name, (Now, violation));
                }

                AddTimeline($"VIOLATION {name}: {violation}");
            }
        }
    }

    private void EvaluateSafety()
    {
        if (_streams is not null)
        {
            AddTimeline("event streams: " + _streams.Summary());
        }

        foreach (var name in Invariants.Where(n => InvariantCatalog.Get(n).Phase == InvariantPhase.Safety))
        {
            (long, string)? violation;
            lock (_checkGate)
            {
                violation = _safetyViolations.TryGetValue(name, out var v) ? v : null;
            }

            _expectations.Add(PhaseVerdicts.Safety(name, NotApplicable(name) ?? (violation is null
                    ? EventIncomplete(name) : null), violation,
                EventJudged.Contains(name) ? EventWatch(name)
                    : $" (polled every {_scenario.Expect.CheckInterval} from the nodes' files and metadata)"));
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

        _expectations.Add(PhaseVerdicts.Converged(_scenario.Expect.ConvergeWithin, _convergedAfter, last,
            " (wall clock)"));
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
                    : PhaseVerdicts.Liveness(name, last.GetValueOrDefault(name)));
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
            paths = [.. _ledger.AcknowledgedPaths().Take(AcknowledgedReads.PathsMax)];
            allowed = paths.ToDictionary(p => p, p => _ledger.Allowed(p)!, StringComparer.Ordinal);
        }

        var reads = AcknowledgedReads.Plan(paths, Live, out var nodes).Select(r => Issue(FileOpKind.Get, r.Path,
            r.Node, null, Durability.Fast, record: false)).ToList();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (reads.Any(r => r.Outcome is null) && clock.Elapsed < FinalReadTimeout)
        {
            await Task.Delay(50, Token);
        }

        var problems = new List<string>();
        foreach (var group in reads.GroupBy(r => r.Path, StringComparer.Ordinal))
        {
            List<string> found;
            lock (_gate) // The ledger: a workload's last operations may still be completing.
            {
                found = AcknowledgedReads.Problems(group.Key, group, allowed[group.Key], _ledger,
                    n => _checkedNodes.First(c => c.Name == n));
            }

            if (found.Count > 0 && LostChunks(group.Key) is { } lost)
            {
                problems.Add(lost); // First: the cause, before the reads it broke.
            }

            problems.AddRange(found);
        }

        var summary = $"{paths.Count} path(s) x {nodes} node(s), {reads.Count} reads over HTTP" +
            (reads.All(r => r.Outcome is not null) ? "" : $", some unanswered after {FinalReadTimeout.TotalSeconds} s");
        return problems.Count == 0
            ? new Expectation(name, ExpectationStatus.Pass, summary)
            : new Expectation(name, ExpectationStatus.Fail, $"{summary}; {problems.Count} problem(s): " +
                InvariantChecks.Examples(problems));
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
}
