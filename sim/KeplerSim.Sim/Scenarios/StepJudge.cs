using System.Globalization;
using KeplerSim.Core.Node;
using KeplerSim.Sim.Invariants;

namespace KeplerSim.Sim.Scenarios;

/// <summary>
/// What the simulator and real mode judge alike about a run's client operations: a file step's operation kind, a
/// file step's verdict against its <c>expect</c>, and the <c>ops.*</c> metrics of the ledger. The two drivers issue
/// operations differently (kernel calls on virtual time, HTTP on the wall clock); they judge them with this.
/// </summary>
internal static class StepJudge
{
    /// <summary>The operation a file step issues.</summary>
    public static FileOpKind KindOf(StepKind kind) => kind switch
    {
        StepKind.Put => FileOpKind.Put,
        StepKind.Get => FileOpKind.Get,
        StepKind.Delete => FileOpKind.Delete,
        _ => FileOpKind.List,
    };

    /// <summary>
    /// A file step's verdict: its operation's outcome against the step's <c>expect</c> (<c>equal</c>: a get
    /// returns <paramref name="expectedHash"/>, the latest put's bytes when the step was issued).
    /// </summary>
    public static Expectation Result(ScenarioStep step, FileOp op, string? expectedHash)
    {
        ArgumentNullException.ThrowIfNull(step);
        ArgumentNullException.ThrowIfNull(op);
        var name = $"step {step.Index} at {step.At}: {step.Describe()} expect {Names.Snake(step.Expect.ToString())}"
            + (step.ExpectCount is { } n ? $" count {n}" : "");
        var seen = op.Outcome is null ? "did not complete (its node crashed, or it is still pending)"
            : op.Outcome + (op.Detail is { } d ? $" ({(d.Length == 64 ? "sha256 " + d[..12] : d)})" : "");
        var pass = step.Expect == ExpectedOutcome.Any || (op.Outcome is not null && step.Expect switch
        {
            ExpectedOutcome.Ok => op.Outcome == "ok" && (step.ExpectCount is null
                || op.Detail == step.ExpectCount.Value.ToString(CultureInfo.InvariantCulture)),
            ExpectedOutcome.NotFound => op.Outcome == "not_found",
            ExpectedOutcome.Error => op.Outcome == "error",
            ExpectedOutcome.DurabilityNotMet => op.Outcome == "error"
                && op.Detail?.StartsWith(nameof(DurabilityNotMetException) + ":", StringComparison.Ordinal) == true,
            _ => op.Outcome == "ok" && op.Detail == expectedHash,
        });
        if (step.Expect == ExpectedOutcome.Equal && !pass && op.Outcome == "ok")
        {
            seen += $"; the put wrote sha256 {expectedHash?[..12]}";
        }

        return new Expectation(name, pass ? ExpectationStatus.Pass : ExpectationStatus.Fail, seen);
    }

    /// <summary>
    /// The ledger's metrics into <paramref name="metrics"/>: per kind the count, the count per outcome, the p50 and
    /// p99 latency of the successful ones, and the acknowledged put bytes.
    /// </summary>
    public static void AddOperationMetrics(SortedDictionary<string, double> metrics, FileLedger ledger)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        ArgumentNullException.ThrowIfNull(ledger);
        foreach (var group in ledger.Ops.GroupBy(o => o.Kind))
        {
            var kind = "ops." + group.Key.ToString().ToLowerInvariant();
            metrics[kind] = group.Count();
            foreach (var outcome in group.GroupBy(o => o.Outcome ?? "pending"))
            {
                metrics[$"{kind}.{outcome.Key}"] = outcome.Count();
            }

            var latencies = group.Where(o => o.Outcome == "ok").Select(o => o.CompletedAt!.Value - o.IssuedAt)
                .Order().ToList();
            if (latencies.Count > 0)
            {
                metrics[kind + ".latency_p50_ms"] = latencies[latencies.Count / 2] / 1000.0;
                metrics[kind + ".latency_p99_ms"] = latencies[Math.Min(latencies.Count - 1,
                    latencies.Count * 99 / 100)] / 1000.0;
            }

            if (group.Key == FileOpKind.Put)
            {
                metrics["bytes.put.acknowledged"] = group.Where(o => o.Outcome == "ok").Sum(o => o.SizeBytes);
            }
        }
    }
}
