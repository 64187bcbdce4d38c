using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using KeplerSim.Sim.Invariants;
using KeplerSim.Sim.Scenarios;

namespace KeplerSim.Sim.Cli;

/// <summary>Prints a run's report: readable text (the default) or JSON.</summary>
public static class ReportPrinter
{
    /// <summary>Timeline lines printed in the text report (JSON has them all).</summary>
    public const int TimelineLinesMax = 40;

    /// <summary>Failure-detection lines printed in the text report (JSON has them all).</summary>
    public const int DetectionLinesMax = 20;

    private const string StepPrefix = "steps.";

    /// <summary>Timeline steps that inject a fault (their counts are metrics <c>steps.&lt;kind&gt;</c>).</summary>
    private static readonly string[] FaultSteps =
        ["clock", "corrupt", "crash", "disk", "network", "partition", "pause", "restart", "stop"];

    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
    };

    /// <summary>The one command that replays <paramref name="result"/> bit for bit, writing its trace.</summary>
    public static string ReplayCommand(RunResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var swarm = result.SwarmChoices is not null ? " --swarm" : "";
        return $"kepler-sim replay {Quote(result.File)} --seed {result.Seed}{swarm} " +
            $"--trace {Quote($"{result.Scenario}-{result.Seed}.trace.jsonl")}";
    }

    /// <summary>Writes the text report.</summary>
    public static void Print(TextWriter output, RunResult result)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(result);
        var inv = CultureInfo.InvariantCulture;
        output.WriteLine($"scenario:     {result.Scenario} ({result.File})");
        output.WriteLine($"protocol:     {result.Protocol}, {result.Nodes} nodes");
        if (result.SwarmChoices is { } choices)
        {
            output.WriteLine($"swarm:        {(choices.Count == 0 ? "nothing to vary" : string.Join(", ", choices))}");
        }

        if (result.RealMode is { } mode)
        {
            output.WriteLine($"mode:         {mode}");
            output.WriteLine(string.Create(inv, $"wall time:    {result.WallSeconds:F2} s (timeline and liveness " +
                $"phase {result.VirtualMicroseconds / 1e6:F1} s; times below are wall clock)"));
        }
        else
        {
            output.WriteLine(string.Create(inv, $"virtual time: {result.VirtualMicroseconds / 1e6:F1} s"));
            output.WriteLine(string.Create(inv,
                $"events:       {result.EventsExecuted:N0} ({result.TraceRecords:N0} traced)"));
            var speed = result.VirtualMicroseconds / 1e6 / Math.Max(result.WallSeconds, 1e-9);
            output.WriteLine(string.Create(inv, $"wall time:    {result.WallSeconds:F2} s ({speed:0.##}x real time)"));
        }

        output.WriteLine($"faults:       {Faults(result)}");
        PrintList(output, "storage:", result.Storage, result.Storage.Count);
        PrintList(output, "detections:", result.Detections, DetectionLinesMax);
        PrintTimeline(output, result);
        output.WriteLine("expectations:");
        foreach (var e in result.Expectations)
        {
            var tag = e.Status switch
            {
                ExpectationStatus.Pass => "PASS",
                ExpectationStatus.Fail => "FAIL",
                _ => "N/A ",
            };
            output.WriteLine($"  {tag}  {e.Name}: {e.Detail}");
        }

        output.WriteLine("metrics:");
        foreach (var (name, value) in result.Metrics)
        {
            output.WriteLine(string.Create(inv, $"  {name,-36} {value:#,0.###}"));
        }

        var failed = result.Expectations.Count(e => e.Status == ExpectationStatus.Fail);
        var passed = result.Expectations.Count(e => e.Status == ExpectationStatus.Pass);
        var na = result.Expectations.Count - failed - passed;
        output.WriteLine($"result:       {(failed == 0 ? "PASS" : "FAIL")} ({passed} passed, {failed} failed, " +
            $"{na} not applicable)");
        output.WriteLine($"seed:         {result.Seed}");
        if (result.RealMode is not null)
        {
            output.WriteLine($"rerun:        kepler-sim run {Quote(result.File)} --seed {result.Seed} --real " +
                "(real processes are not deterministic: a rerun is not a replay)");
            return;
        }

        output.WriteLine($"trace hash:   {result.TraceHash}");
        output.WriteLine($"replay:       {ReplayCommand(result)}");
    }

    /// <summary>Writes the report as one JSON object.</summary>
    public static void PrintJson(TextWriter output, RunResult result)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(result);
        output.WriteLine(JsonSerializer.Serialize(new
        {
            result.Scenario, result.File, result.Protocol, result.Nodes, result.Seed, result.SwarmChoices,
            result.TraceHash, result.TraceRecords, result.EventsExecuted, result.VirtualMicroseconds,
            result.WallSeconds, result.FaultCounts, result.Storage, result.Detections, result.Passed,
            result.Expectations, result.Metrics,
            result.Timeline, result.TimelineOmitted, Replay = ReplayCommand(result),
        }, Json));
    }

    /// <summary>Faults the random injector caused and faults the timeline's steps injected, by kind.</summary>
    private static string Faults(RunResult result)
    {
        var random = result.FaultCounts.Select(kv => $"{kv.Key} {kv.Value}").ToList();
        var steps = result.Metrics.Where(kv => kv.Key.StartsWith(StepPrefix, StringComparison.Ordinal)
                && FaultSteps.Contains(kv.Key[StepPrefix.Length..], StringComparer.Ordinal))
            .Select(kv => string.Create(CultureInfo.InvariantCulture, $"{kv.Key[StepPrefix.Length..]} {kv.Value}"))
            .ToList();
        var parts = new List<string>();
        if (random.Count > 0)
        {
            parts.Add("random: " + string.Join(", ", random));
        }

        if (steps.Count > 0)
        {
            parts.Add("timeline steps: " + string.Join(", ", steps));
        }

        return parts.Count == 0 ? "none" : string.Join("; ", parts);
    }

    private static void PrintList(TextWriter output, string title, IReadOnlyList<string> lines, int max)
    {
        if (lines.Count == 0)
        {
            return;
        }

        output.WriteLine(title);
        foreach (var line in lines.Take(max))
        {
            output.WriteLine($"  {line}");
        }

        if (lines.Count > max)
        {
            output.WriteLine($"  … {lines.Count - max} more (--json shows them all)");
        }
    }

    private static void PrintTimeline(TextWriter output, RunResult result)
    {
        output.WriteLine("timeline:");
        foreach (var entry in result.Timeline.Take(TimelineLinesMax))
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {entry.TimeMicroseconds / 1e6,10:F3}s  {entry.Text}"));
        }

        var more = result.Timeline.Count - TimelineLinesMax + result.TimelineOmitted;
        if (more > 0)
        {
            output.WriteLine($"  … {more} more (--json shows {result.Timeline.Count}; --trace has everything)");
        }
    }

    internal static string Quote(string path) => path.Contains(' ', StringComparison.Ordinal) ? $"\"{path}\"" : path;
}
