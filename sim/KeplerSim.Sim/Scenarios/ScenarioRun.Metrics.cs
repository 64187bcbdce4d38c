using KeplerSim.Sim.Invariants;
using KeplerSim.Sim.KeplerFs;

namespace KeplerSim.Sim.Scenarios;

internal sealed partial class ScenarioRun
{
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
        foreach (var (kind, count) in _chaos?.Counts ?? [])
        {
            m["faults." + kind] = count;
        }

        foreach (var (name, value) in _counters)
        {
            m[name] = value;
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
