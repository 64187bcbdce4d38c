using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using KeplerSim.Core.Transfer;
using KeplerSim.Sim.KeplerFs;
using KeplerSim.Sim.Kernel;
using KeplerSim.Sim.Scenarios;

namespace KeplerSim.Sim.Cli;

/// <summary>What <c>kepler-sim bench</c> measured for one scenario.</summary>
/// <param name="Result">The run's result.</param>
/// <param name="CpuSeconds">CPU seconds the process spent during the run (every thread: GC, JIT included).</param>
/// <param name="PeakRssBytes">Peak resident set during the run (Linux <c>VmHWM</c>, reset before the run).</param>
/// <param name="MeasureFromSeconds">Virtual second from which the traffic by kind was counted.</param>
/// <param name="Gc">What the garbage collector did during the run.</param>
public sealed record ScenarioBenchmark(RunResult Result, double CpuSeconds, long PeakRssBytes,
    double MeasureFromSeconds = 0, GcActivity? Gc = null)
{
    /// <summary>Virtual seconds simulated, the liveness phase included.</summary>
    public double VirtualSeconds => Result.VirtualMicroseconds / 1e6;

    /// <summary>
    /// Bytes streamed between nodes per byte of acknowledged puts over the whole run, the liveness phase's final
    /// reads included (0 when nothing was acknowledged).
    /// </summary>
    public double StreamedPerAcknowledged => Metric("bytes.put.acknowledged") is var acked and > 0
        ? Metric("bytes.streamed") / acked : 0;

    /// <summary>
    /// Issue 14's "bytes moved between nodes per acknowledged byte" (docs/BENCHMARKS.md, "Bytes between nodes"):
    /// stream bytes up to the timeline's end, less the chunk fetches (client reads, and the rare repair), per byte
    /// of puts acknowledged by then. SWIM's datagrams are reported apart.
    /// </summary>
    public double MovedPerAcknowledged => Timeline("bytes.put.acknowledged") is var acked and > 0
        ? (Timeline("bytes.streamed") - Timeline(SimTransferCounts.BytesSentMetric(StreamTrafficKind.ChunkFetch)))
          / acked
        : 0;

    /// <summary>A traffic metric as it stood when the timeline ended, 0 when it never moved.</summary>
    public double Timeline(string name) => Metric(ScenarioRun.TimelineMetricPrefix + name);

    /// <summary>A metric of the run, 0 when it never moved.</summary>
    public double Metric(string name) => Result.Metrics.GetValueOrDefault(name);
}

/// <summary>
/// <c>kepler-sim bench [FILES]</c>: runs scenario files once each (their own seed) and prints, per scenario, the
/// speed and cost numbers of issue 14 (docs/BENCHMARKS.md), then the kernel-only benchmark in the same process.
/// It prints numbers and asserts nothing but that each run completed; no test is timed.
/// </summary>
public static class BenchCommand
{
    private const string ClearRefs = "/proc/self/clear_refs";
    private const string Status = "/proc/self/status";
    private const double MiB = 1024 * 1024;

    /// <summary>
    /// Largest cluster worth a warm-up: the warm-up pays the JIT, which a small run would otherwise count; the
    /// first 10 virtual seconds of 200 nodes (all joining) cost more than the JIT they save.
    /// </summary>
    public const int WarmUpNodesMax = 16;

    /// <summary>Builds the <c>bench</c> command.</summary>
    public static Command Build()
    {
        var target = new Argument<FileSystemInfo[]>("scenarios")
        {
            Description = "Scenario files or directories (default scenarios/bench)",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var kernel = new Option<int>("--kernel-seconds")
        {
            Description = "Virtual seconds of the kernel-only benchmark run after the scenarios (0: none)",
            DefaultValueFactory = _ => 60,
        };
        var warmup = new Option<int>("--warmup-seconds")
        {
            Description = $"Virtual seconds of an unmeasured warm-up run of the smallest scenario, if it has at most " +
                $"{WarmUpNodesMax} nodes (0: none)",
            DefaultValueFactory = _ => 10,
        };
        var measureFrom = new Option<double>("--measure-from")
        {
            Description = "Virtual second from which bytes moved per acknowledged byte are counted (leaves out a " +
                "large cluster's join; the run is the same)",
            DefaultValueFactory = _ => 0,
        };
        var progress = new Option<int>("--progress-seconds")
        {
            Description = "Print the run's virtual time, events, CPU seconds and RSS to stderr every this many wall " +
                "seconds (0: never); for runs too long to wait for",
            DefaultValueFactory = _ => 0,
        };
        var command = new Command("bench", "Measure scenarios: events, time compression (wall and CPU), peak RSS, " +
            "bytes moved per acknowledged byte by kind; then the kernel benchmark")
        {
            target, kernel, warmup, measureFrom, progress,
        };
        command.SetAction(parse => Run(parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error,
            parse.GetValue(target) ?? [], parse.GetValue(kernel), parse.GetValue(warmup),
            (long)(parse.GetValue(measureFrom) * 1e6), parse.GetValue(progress)));
        return command;
    }

    private static int Run(TextWriter output, TextWriter error, FileSystemInfo[] targets, int kernelSeconds,
        int warmupSeconds, long measureFromMicroseconds, int progressSeconds)
    {
        var files = (targets.Length == 0 ? [new DirectoryInfo(Path.Combine("scenarios", "bench"))] : targets)
            .SelectMany(SimCli.ScenarioFiles).ToList();
        var scenarios = new List<Scenario>();
        try
        {
            scenarios.AddRange(files.Select(ScenarioLoader.LoadFile));
        }
        catch (ScenarioException e)
        {
            error.WriteLine($"error: {e.Message}");
            return SimCli.ExitBadInput;
        }

        var smallest = scenarios.MinBy(s => s.Cluster.NodeNames().Count);
        if (smallest is not null && warmupSeconds > 0 && smallest.Cluster.NodeNames().Count <= WarmUpNodesMax)
        {
            WarmUp(output, smallest.File, warmupSeconds);
        }

        var results = new List<ScenarioBenchmark>();
        foreach (var scenario in scenarios)
        {
            var bench = Measure(scenario, measureFromMicroseconds, progressSeconds > 0 ? error : null, progressSeconds);
            results.Add(bench);
            PrintScenario(output, bench);
        }

        if (kernelSeconds > 0)
        {
            PrintKernel(output, KernelBenchmark.Run(kernelSeconds), kernelSeconds);
        }

        PrintTable(output, results);
        return results.All(r => r.Result.Passed) ? SimCli.ExitPass : SimCli.ExitFailed;
    }

    /// <summary>
    /// Runs <paramref name="scenario"/> once with its own seed and measures it; its traffic by kind counts from
    /// <paramref name="measureFromMicroseconds"/> of virtual time to the timeline's end. With
    /// <paramref name="progress"/>, a line every <paramref name="progressSeconds"/> of wall time says how far it got.
    /// </summary>
    public static ScenarioBenchmark Measure(Scenario scenario, long measureFromMicroseconds = 0,
        TextWriter? progress = null, int progressSeconds = 60)
    {
        ArgumentNullException.ThrowIfNull(scenario);
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        ResetPeakRss();
        using var process = Process.GetCurrentProcess();
        var cpu = process.TotalProcessorTime;
        var gc = GcActivity.Now();
        if (progress is not null)
        {
            SQLitePCL.Batteries_V2.Init(); // The progress line asks SQLite for its memory, maybe before any node did.
        }

        Timer? ticker = null;
        var result = ScenarioRunner.Run(scenario, scenario.Seed, measureFromMicroseconds: measureFromMicroseconds,
            started: sim => ticker = progress is null ? null : new Timer(_ => PrintProgress(progress, sim, cpu),
                null, TimeSpan.FromSeconds(progressSeconds), TimeSpan.FromSeconds(progressSeconds)));
        ticker?.Dispose();
        process.Refresh();
        return new ScenarioBenchmark(result, (process.TotalProcessorTime - cpu).TotalSeconds, PeakRssBytes(),
            measureFromMicroseconds / 1e6, GcActivity.Now() - gc);
    }

    /// <summary>Reads the running simulation's clock and counters from the timer's thread (they only grow).</summary>
    private static void PrintProgress(TextWriter progress, Simulation sim, TimeSpan cpuAtStart)
    {
        using var process = Process.GetCurrentProcess();
        progress.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"progress:     {sim.Now / 1e6:F2} virtual s, {sim.EventsExecuted:N0} events, " +
            $"{(process.TotalProcessorTime - cpuAtStart).TotalSeconds:F1} CPU s, {process.WorkingSet64 / 1048576.0:F0} " +
            $"MiB RSS, {PeakRssBytes() / 1048576.0:F0} MiB peak ({GC.GetTotalMemory(false) / 1048576.0:F0} MiB GC " +
            $"heap, {SQLitePCL.raw.sqlite3_memory_used() / 1048576.0:F0} MiB SQLite)"));
    }

    private static void WarmUp(TextWriter output, string file, int seconds)
    {
        var scenario = ScenarioLoader.LoadFile(file);
        var end = seconds * 1_000_000L;
        scenario.Duration = new Duration(end);
        scenario.Steps.RemoveAll(s => s.At.Microseconds > end);
        foreach (var workload in scenario.Workloads)
        {
            workload.Stop = workload.Stop is { } stop && stop.Microseconds < end ? stop : null;
        }

        var clock = Stopwatch.StartNew();
        ScenarioRunner.Run(scenario, scenario.Seed);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"warm-up:      {file} for {seconds} virtual s, {clock.Elapsed.TotalSeconds:F2} s wall (not measured)"));
    }

    private static void PrintScenario(TextWriter output, ScenarioBenchmark b)
    {
        var r = b.Result;
        var inv = CultureInfo.InvariantCulture;
        output.WriteLine($"scenario:     {r.Scenario} ({r.File}), {r.Nodes} nodes, " +
            (r.Passed ? "passed" : "FAILED: " + string.Join("; ", r.Expectations
                .Where(e => e.Status == Invariants.ExpectationStatus.Fail).Select(e => e.Name))));
        output.WriteLine(string.Create(inv, $"  events:     {r.EventsExecuted:N0} in {b.VirtualSeconds:F1} virtual s " +
            $"({r.EventsExecuted / b.VirtualSeconds:N0} per virtual s), trace hash {r.TraceHash}"));
        output.WriteLine(string.Create(inv, $"  wall:       {r.WallSeconds:F2} s, {r.EventsExecuted / r.WallSeconds:N0} " +
            $"events/s, {b.VirtualSeconds / r.WallSeconds:0.###}x real time"));
        output.WriteLine(string.Create(inv, $"  cpu:        {b.CpuSeconds:F2} s, {r.EventsExecuted / b.CpuSeconds:N0} " +
            $"events per CPU s, {b.VirtualSeconds / b.CpuSeconds:0.###} virtual s per CPU s"));
        output.WriteLine(string.Create(inv, $"  peak rss:   {b.PeakRssBytes / MiB:F1} MiB, " +
            $"{b.PeakRssBytes / MiB / r.Nodes:F2} MiB per simulated node"));
        if (b.Gc is { } gc)
        {
            output.WriteLine(string.Create(inv, $"  gc:         {gc.AllocatedBytes / MiB:N0} MiB allocated " +
                $"({gc.AllocatedBytes / (double)r.EventsExecuted:N0} B per event), collections " +
                $"{gc.Gen0Collections:N0} (of them reaching gen1 {gc.Gen1Collections:N0}, gen2 " +
                $"{gc.Gen2Collections:N0}), paused " +
                $"{gc.PauseSeconds:F2} s of wall time ({100 * gc.PauseSeconds / r.WallSeconds:F1} %: a loaded machine " +
                $"stretches pauses)"));
        }

        output.WriteLine(string.Create(inv, $"  streamed:   {b.Metric("bytes.streamed"):N0} B for " +
            $"{b.Metric("bytes.put.acknowledged"):N0} B of acknowledged puts " +
            $"({b.Metric("ops.put.ok"):N0} puts): {b.StreamedPerAcknowledged:F2} B per acknowledged B"));
        output.WriteLine(string.Create(inv, $"  moved:      {b.MovedPerAcknowledged:F3} B between nodes per " +
            $"acknowledged B in the measured window (streamed, less chunk fetches); by kind:"));
        PrintTraffic(output, b);
    }

    /// <summary>
    /// The streamed bytes by what they were for (plain frame bytes every node sent, per exchange kind), the cluster
    /// key's tags and handshakes (what the transport carried beyond them), and SWIM's datagrams apart: each per
    /// acknowledged byte (docs/BENCHMARKS.md, "Bytes between nodes").
    /// </summary>
    private static void PrintTraffic(TextWriter output, ScenarioBenchmark b)
    {
        var inv = CultureInfo.InvariantCulture;
        var acked = Math.Max(1, b.Timeline("bytes.put.acknowledged"));
        var streamed = b.Timeline("bytes.streamed");
        var plain = 0.0;
        void Row(string name, double bytes, string note = "")
        {
            var share = 100 * bytes / Math.Max(1, streamed);
            output.WriteLine(string.Create(inv,
                $"    {name,-20} {bytes,15:N0} B {bytes / acked,8:F3} per acked B {share,5:F1} %{note}"));
        }

        foreach (var kind in StreamTrafficCounts.Kinds)
        {
            var bytes = b.Timeline(SimTransferCounts.BytesSentMetric(kind));
            plain += bytes;
            if (bytes > 0)
            {
                Row(StreamTrafficCounts.NameOf(kind), bytes,
                    kind == StreamTrafficKind.ChunkFetch ? " (reads: not in the ratio)" : "");
            }
        }

        Row("sealing+handshakes", streamed - plain);
        output.WriteLine(string.Create(inv, $"    {"swim datagrams",-20} {b.Timeline("bytes.datagrams"),15:N0} B " +
            $"{b.Timeline("bytes.datagrams") / acked,8:F3} per acked B (not streamed: not in the ratio)"));
        output.WriteLine(string.Create(inv, $"    ({b.Timeline("bytes.put.acknowledged"):N0} B acknowledged in the " +
            $"window, from {b.MeasureFromSeconds:F0} virtual s to the timeline's end; the whole run, liveness " +
            $"phase included, streamed {b.StreamedPerAcknowledged:F2} B per acknowledged B)"));
    }

    private static void PrintKernel(TextWriter output, KernelBenchmarkResult k, int seconds)
    {
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"kernel:       {KernelBenchmark.NodeCount} ping nodes, {seconds} virtual s, {k.Events:N0} events, " +
            $"{k.WallSeconds:F2} s wall ({k.Events / k.WallSeconds:N0} events/s), {k.CpuSeconds:F2} CPU s " +
            $"({k.Events / k.CpuSeconds:N0} events per CPU s), trace hash {k.TraceHash}"));
    }

    private static void PrintTable(TextWriter output, IReadOnlyList<ScenarioBenchmark> results)
    {
        output.WriteLine();
        output.WriteLine("| scenario | nodes | virtual s | events | events/virtual s | events/s | x real (wall) | " +
            "x real (CPU) | CPU s | peak RSS MiB | MiB/node | moved/acked B | streamed/acked B (whole run) |");
        output.WriteLine("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (var b in results)
        {
            var r = b.Result;
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {r.Scenario} | {r.Nodes} | {b.VirtualSeconds:F1} | {r.EventsExecuted:N0} | " +
                $"{r.EventsExecuted / b.VirtualSeconds:N0} | {r.EventsExecuted / r.WallSeconds:N0} | " +
                $"{b.VirtualSeconds / r.WallSeconds:0.###} | {b.VirtualSeconds / b.CpuSeconds:0.###} | " +
                $"{b.CpuSeconds:F1} | {b.PeakRssBytes / MiB:F0} | {b.PeakRssBytes / MiB / r.Nodes:F2} | " +
                $"{b.MovedPerAcknowledged:F2} | {b.StreamedPerAcknowledged:F2} |"));
        }
    }

    /// <summary>Resets the kernel's peak-RSS mark (<c>VmHWM</c>) of this process; a no-op where unsupported.</summary>
    private static void ResetPeakRss()
    {
        try
        {
            File.WriteAllText(ClearRefs, "5");
        }
        catch (IOException)
        {
            // Not Linux, or not allowed: the peak is then the process's since it started.
        }
        catch (UnauthorizedAccessException)
        {
            // As above.
        }
    }

    private static long PeakRssBytes()
    {
        try
        {
            var line = File.ReadLines(Status).FirstOrDefault(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
            return line is null ? Environment.WorkingSet
                : long.Parse(line["VmHWM:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
        }
        catch (IOException)
        {
            return Environment.WorkingSet;
        }
    }
}

/// <summary>
/// The garbage collector's counters, read before and after a measured run (<c>kepler-sim bench</c> prints their
/// difference): what the run allocated, how many collections of each generation it caused, and how long the GC
/// paused the process (wall time, so a loaded machine, which deschedules the paused process, stretches it).
/// Collection counts are <see cref="GC.CollectionCount"/>'s: a generation's count includes every collection of an
/// older one.
/// </summary>
public readonly record struct GcActivity(long AllocatedBytes, int Gen0Collections, int Gen1Collections,
    int Gen2Collections, double PauseSeconds)
{
    /// <summary>The process's counters now (precise allocated bytes).</summary>
    public static GcActivity Now() => new(GC.GetTotalAllocatedBytes(precise: true), GC.CollectionCount(0),
        GC.CollectionCount(1), GC.CollectionCount(2), GC.GetTotalPauseDuration().TotalSeconds);

    /// <summary>The activity between two readings.</summary>
    public static GcActivity operator -(GcActivity after, GcActivity before) => new(
        after.AllocatedBytes - before.AllocatedBytes, after.Gen0Collections - before.Gen0Collections,
        after.Gen1Collections - before.Gen1Collections, after.Gen2Collections - before.Gen2Collections,
        after.PauseSeconds - before.PauseSeconds);
}
