using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using KeplerSim.Sim.Invariants;
using KeplerSim.Sim.Scenarios;

namespace KeplerSim.Sim.Real;

internal sealed partial class RealScenarioRun
{
    /// <summary><c>wait_until</c>: polls the condition (bounded by the step's timeout in timeline time: a start
    /// holding the timeline does not count) without holding up the timeline.</summary>
    private void StartWait(ScenarioStep step)
    {
        var started = TimelineNow;
        var name = $"step {step.Index} at {step.At}: {step.Describe()}";
        Track(Task.Run(async () =>
        {
            while (true)
            {
                var failure = await TryWaitHoldsAsync(step);
                if (failure is null)
                {
                    AddWaitResult(step, new Expectation(name, ExpectationStatus.Pass,
                        $"held after {ScenarioRun.Seconds(TimelineNow - started)}"));
                    AddTimeline($"wait_until {Names.Snake(step.Condition.ToString())} held");
                    return;
                }

                if (TimelineNow - started >= step.Timeout.Microseconds || _finished || Token.IsCancellationRequested)
                {
                    AddWaitResult(step, new Expectation(name, ExpectationStatus.Fail,
                        $"not within {step.Timeout}: {failure}"));
                    return;
                }

                await Task.Delay(TimeSpan.FromMicroseconds(WaitPollMicroseconds), Token);
            }
        }, Token));
    }

    /// <summary>
    /// The condition, or why it could not be read: a check that throws (a node's database read while it restarts)
    /// counts as not holding yet instead of ending the poll unseen (crash-mid-replication's wait once ended that way
    /// and was reported as never evaluated).
    /// </summary>
    private async Task<string?> TryWaitHoldsAsync(ScenarioStep step)
    {
        try
        {
            return await WaitHoldsAsync(step);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return $"the check failed: {e.GetType().Name}: {e.Message}";
        }
    }

    private void AddWaitResult(ScenarioStep step, Expectation result)
    {
        lock (_gate)
        {
            _waitResults.Add((step.Index, result));
        }
    }

    private async Task<string?> WaitHoldsAsync(ScenarioStep step)
    {
        switch (step.Condition)
        {
            case WaitCondition.AllRunning:
                return await CheckAsync(InvariantCatalog.AllNodesRunning);
            case WaitCondition.Healed:
                return _lab?.Partitioned == true ? "a partition is in force" : null;
            case WaitCondition.QueuesEmpty:
                return await CheckAsync(InvariantCatalog.QueuesEmpty);
            case WaitCondition.OpsSettled:
                return PendingOperations();
            case WaitCondition.Members:
                var expected = string.Join(",", step.Members);
                var differ = new List<string>();
                foreach (var node in step.Nodes.Select(Node))
                {
                    var seen = await RingOfAsync(node);
                    if (seen != expected)
                    {
                        differ.Add($"{node.Spec.Name} sees [{seen ?? "nothing (down or starting)"}]");
                    }
                }

                return differ.Count == 0 ? null : $"expected [{expected}]: " + string.Join(", ", differ);
            default:
                foreach (var name in Declared(InvariantPhase.Liveness)
                    .Where(i => i != InvariantCatalog.AcknowledgedWritesReadable))
                {
                    if (await CheckAsync(name) is { } f)
                    {
                        return $"{name}: {f}";
                    }
                }

                return null;
        }
    }

    /// <summary>The node's ring members from <c>/api/members</c>, ordered and comma-joined; null without an answer.
    /// </summary>
    private async Task<string?> RingOfAsync(RealNode node)
    {
        if (!node.Running || node.Paused)
        {
            return null;
        }

        try
        {
            using var bound = CancellationTokenSource.CreateLinkedTokenSource(Token);
            bound.CancelAfter(TimeSpan.FromSeconds(5));
            var members = await _http.GetFromJsonAsync<JsonElement>(new Uri(node.Spec.Url, "api/members"), bound.Token);
            return string.Join(",", members.EnumerateArray()
                .Where(m => m.TryGetProperty("inRing", out var r) && r.GetBoolean())
                .Select(m => m.GetProperty("id").GetString()).Order(StringComparer.Ordinal));
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException)
        {
            return null;
        }
    }

    /// <summary>An operator's <c>PUT /api/replication-factor</c> on one node; its answer is what the cluster must
    /// converge to.</summary>
    private async Task SetReplicationFactorAsync(ScenarioStep step)
    {
        var node = Node(step.Nodes[0]);
        var op = new FileOp { Kind = FileOpKind.List, Node = node.Spec.Name, Epoch = node.Epoch, IssuedAt = Now };
        lock (_gate)
        {
            _stepOps.Add((step, op, null));
        }

        try
        {
            using var response = await _http.PutAsJsonAsync(new Uri(node.Spec.Url, "api/replication-factor"),
                new { replicationFactor = step.Factor }, Token);
            var body = await response.Content.ReadAsStringAsync(Token);
            if (!response.IsSuccessStatusCode)
            {
                Complete(op, "error", $"HTTP {(int)response.StatusCode}: {body}", null, null);
                return;
            }

            var json = JsonSerializer.Deserialize<JsonElement>(body);
            var adopted = new Core.Membership.ClusterSettings(json.GetProperty("replicationFactor").GetInt32(),
                json.GetProperty("version").GetInt64(), json.GetProperty("origin").GetString()!);
            lock (_checkGate)
            {
                _cluster.AcceptReplicationSetting(adopted);
            }

            Complete(op, "ok", $"version {adopted.Version} from {adopted.Origin}", null, null);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException
            or KeyNotFoundException or InvalidOperationException)
        {
            Complete(op, "error", $"{e.GetType().Name}: {e.Message}", null, null);
        }

        AddTimeline($"{step.Describe()} -> {op.Outcome} ({op.Detail})");
    }

    private void EvaluateSteps()
    {
        List<(int Index, Expectation Result)> results;
        lock (_gate)
        {
            results = [.. _waitResults];
            foreach (var (step, op, expectedHash) in _stepOps)
            {
                results.Add((step.Index, StepJudge.Result(step, op, expectedHash)));
            }
        }

        foreach (var (_, result) in results.OrderBy(r => r.Index))
        {
            _expectations.Add(result);
        }

        foreach (var step in _scenario.Steps.Where(s => s.Kind == StepKind.WaitUntil
            && !results.Any(w => w.Index == s.Index) && !_notApplicable.Any(n => n.Name.StartsWith(
                $"step {s.Index} ", StringComparison.Ordinal))))
        {
            Fail($"step {step.Index} at {step.At}: {step.Describe()}", "never evaluated (the run stopped early)");
        }
    }

    private SortedDictionary<string, double> CollectMetrics(double wallSeconds)
    {
        var m = new SortedDictionary<string, double>(StringComparer.Ordinal)
        {
            ["wall.seconds"] = Math.Round(wallSeconds, 3),
        };
        lock (_gate)
        {
            var now = Now;
            m["timeline.seconds"] = (now - HeldMicroseconds(now)) / 1e6;
            m["timeline.held_seconds"] = HeldMicroseconds(now) / 1e6;
            foreach (var (name, value) in _counters)
            {
                m[name] = value;
            }

            StepJudge.AddOperationMetrics(m, _ledger);
        }

        if (_convergedAfter is { } converged)
        {
            m["converge.seconds"] = converged / 1e6;
        }

        return m;
    }

    /// <summary>Metric bounds of the file; a metric only the simulator has (kernel events, datagrams, detection
    /// latencies) is N/A.</summary>
    private void EvaluateBounds(SortedDictionary<string, double> metrics)
    {
        foreach (var (metric, text) in _scenario.Expect.Metrics)
        {
            var bound = MetricBound.Parse(metric, text);
            var name = $"metric {bound}";
            var realMetric = metric.StartsWith("ops.", StringComparison.Ordinal)
                || metric.StartsWith("steps.", StringComparison.Ordinal)
                || metric.StartsWith("faults.step-", StringComparison.Ordinal)
                || metric.StartsWith("events.", StringComparison.Ordinal) // Counted off the nodes' streams.
                || metric is "converge.seconds" or "wall.seconds" or ScenarioRun.FalseDeadMetric;
            if (!realMetric)
            {
                _expectations.Add(new Expectation(name, ExpectationStatus.NotApplicable,
                    $"{metric} is measured by the simulator only"));
                continue;
            }

            var actual = metrics.GetValueOrDefault(metric);
            _expectations.Add(new Expectation(name, bound.Holds(actual) ? ExpectationStatus.Pass
                : ExpectationStatus.Fail, string.Create(CultureInfo.InvariantCulture, $"{metric} = {actual:G6}")));
        }
    }

    /// <summary>What the cluster stored: files written and read back, copies per chunk on the real disks.</summary>
    private List<string> StorageLines()
    {
        var lines = new List<string>();
        lock (_gate)
        {
            var puts = _ledger.Ops.Where(o => o.Kind == FileOpKind.Put).ToList();
            lines.Add($"files written: {puts.Count(o => o.Outcome == "ok")} acknowledged of {puts.Count} puts " +
                $"({puts.Where(o => o.Outcome == "ok").Sum(o => o.SizeBytes):N0} bytes)");
        }

        var copies = _nodes.Values.Where(n => n.Epoch > 0)
            .SelectMany(n => _inspector.ChunkFiles(n.Spec.DataDir).Where(f => f.Matches).Select(f => f.Id))
            .GroupBy(id => id, StringComparer.Ordinal).Select(g => g.Count()).ToList();
        lines.Add($"chunks on disk: {copies.Count}, copies per chunk " + string.Join(", ", copies
            .GroupBy(c => c).OrderBy(g => g.Key).Select(g => $"{g.Key}x: {g.Count()}")));
        return lines;
    }
}
