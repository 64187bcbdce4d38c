using KeplerSim.Sim.Invariants;
using KeplerSim.Sim.KeplerFs;

namespace KeplerSim.Sim.Scenarios;

internal sealed partial class ScenarioRun
{
    /// <summary>
    /// Prefix of the traffic metrics moved from <see cref="MeasureFromMicroseconds"/> (default: the start) until the
    /// timeline ended (before the liveness phase).
    /// </summary>
    public const string TimelineMetricPrefix = "timeline.";

    private SortedDictionary<string, double> _trafficAtTimelineEnd = new(StringComparer.Ordinal);
    private SortedDictionary<string, double> _trafficAtMeasureStart = new(StringComparer.Ordinal);

    /// <summary>
    /// Virtual time from which the <c>timeline.*</c> traffic metrics count (a benchmark leaves out a large cluster's
    /// join); null or 0: from the start. The run is the same either way.
    /// </summary>
    public long? MeasureFromMicroseconds { get; init; }

    /// <summary>
    /// The bytes moved so far: streamed (all, and by exchange kind), SWIM datagrams, and acknowledged puts. Taken
    /// again when the timeline ends, so a benchmark can leave out the liveness phase (its final reads of every path
    /// from every node move far more than the workload did: docs/BENCHMARKS.md, "Bytes between nodes").
    /// </summary>
    private SortedDictionary<string, double> Traffic()
    {
        var m = new SortedDictionary<string, double>(StringComparer.Ordinal)
        {
            ["bytes.streamed"] = _sim.Network.StreamBytes.Values.Sum(),
            ["bytes.datagrams"] = _sim.Network.DatagramBytesSent,
            ["bytes.put.acknowledged"] = _ledger.Ops.Where(o => o.Kind == FileOpKind.Put && o.Outcome == "ok")
                .Sum(o => o.SizeBytes),
        };
        foreach (var (name, value) in _runState.GetOrAdd(SimTransferCounts.RunStateKey, () => new SimTransferCounts())
                     .Totals().Where(t => t.Name.StartsWith("bytes.", StringComparison.Ordinal)))
        {
            m[name] = value;
        }

        return m;
    }

    private SortedDictionary<string, double> CollectMetrics(double wallSeconds)
    {
        var m = new SortedDictionary<string, double>(StringComparer.Ordinal)
        {
            ["events"] = _sim.EventsExecuted,
            ["trace.records"] = _sim.Trace.Count,
            ["virtual.seconds"] = _sim.Now / 1e6,
            ["wall.seconds"] = Math.Round(wallSeconds, 3),
            ["time_compression"] = Math.Round(_sim.Now / 1e6 / Math.Max(wallSeconds, 1e-9), 1),
        };
        var (sent, delivered, dropped) = _sim.Network.DatagramCounts;
        m["datagrams.sent"] = sent;
        m["datagrams.delivered"] = delivered;
        m["datagrams.dropped"] = dropped;
        m["bytes.streamed"] = _sim.Network.StreamBytes.Values.Sum();
        m["bytes.datagrams"] = _sim.Network.DatagramBytesSent;
        foreach (var (name, value) in _trafficAtTimelineEnd)
        {
            m[TimelineMetricPrefix + name] = value - _trafficAtMeasureStart.GetValueOrDefault(name);
        }
        foreach (var (kind, count) in _chaos?.Counts ?? [])
        {
            m["faults." + kind] = count;
        }

        foreach (var (name, value) in _counters)
        {
            m[name] = value;
        }

        foreach (var (kind, count) in _eventKinds)
        {
            m["events." + kind] = count;
        }

        foreach (var (name, value) in _runState.GetOrAdd(SimTransferCounts.RunStateKey, () => new SimTransferCounts())
                     .Totals())
        {
            m[name] = value;
        }

        StepJudge.AddOperationMetrics(m, _ledger);

        AddDetectionMetrics(m);
        if (_convergedAfter is { } converged)
        {
            m["converge.seconds"] = converged / 1e6;
        }

        if (_firstCorruptionAt >= 0 && _firstDetectionAt >= 0)
        {
            m["detect.corruption.seconds"] = (_firstDetectionAt - _firstCorruptionAt) / 1e6;
        }

        return m;
    }

    private void EvaluateBounds(SortedDictionary<string, double> metrics)
    {
        foreach (var (metric, text) in _scenario.Expect.Metrics)
        {
            var bound = MetricBound.Parse(metric, text);
            var name = $"metric {bound}";
            if (!metrics.TryGetValue(metric, out var actual))
            {
                // A counter that never moved is absent: it is zero.
                actual = 0;
            }

            _expectations.Add(new Expectation(name, bound.Holds(actual)
                ? ExpectationStatus.Pass : ExpectationStatus.Fail,
                string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{metric} = {actual:G6}")));
        }
    }
}
