using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using KeplerSim.Sim.Scenarios;

namespace KeplerSim.Sim.Cli;

/// <summary>The <c>swarm</c> and <c>merge</c> commands.</summary>
public static partial class SimCli
{
    /// <summary>What one swarm command was asked to do.</summary>
    private sealed record SwarmRequest(FileSystemInfo Target, int Seeds, int Jobs, ulong First, SwarmShard Shard,
        FileInfo? Results, FileInfo? JUnit);

    private static Command BuildSwarm()
    {
        var target = new Argument<FileSystemInfo>("scenarios")
        {
            Description = "A scenario file or a directory of them",
        };
        var seeds = new Option<int>("--seeds", "-n") { Description = "Seeds per scenario", Required = true };
        seeds.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() is < 1 or > SwarmSeedsMax)
            {
                r.AddError($"--seeds must be 1..{SwarmSeedsMax}");
            }
        });
        var jobs = new Option<int>("--jobs", "-j")
        {
            Description = "Seeds run in parallel, in this one process (default: one per core)",
            DefaultValueFactory = _ => Environment.ProcessorCount,
        };
        jobs.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() is < 1 or > 256)
            {
                r.AddError("--jobs must be 1..256");
            }
        });
        var first = new Option<ulong>("--first-seed") { Description = "First seed", DefaultValueFactory = _ => 1 };
        var shard = new Option<string?>("--shard")
        {
            Description = "Run only share K of N (K from 0): the N shards run every (file, seed) exactly once",
        };
        shard.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<string?>() is { } text && SwarmShard.Parse(text, out var error) is null)
            {
                r.AddError(error!);
            }
        });
        var results = new Option<FileInfo?>("--results") { Description = "Write results as JSON lines to FILE" };
        var junit = new Option<FileInfo?>("--junit") { Description = "Write results as JUnit XML to FILE" };
        var swarm = new Command("swarm", "Run many seeds, each with its own fault profile; list failing seeds")
        {
            target, seeds, jobs, first, shard, results, junit,
        };
        swarm.SetAction(parse => RunSwarm(parse, new SwarmRequest(parse.GetRequiredValue(target),
            parse.GetValue(seeds), parse.GetValue(jobs), parse.GetValue(first),
            parse.GetValue(shard) is { } s ? SwarmShard.Parse(s, out _)!.Value : SwarmShard.Whole,
            parse.GetValue(results), parse.GetValue(junit))));
        return swarm;
    }

    private static int RunSwarm(ParseResult parse, SwarmRequest request)
    {
        var output = parse.InvocationConfiguration.Output;
        var error = parse.InvocationConfiguration.Error;
        var files = new List<string>();
        var skipped = new List<string>();
        foreach (var file in ScenarioFiles(request.Target))
        {
            try
            {
                var scenario = ScenarioLoader.LoadFile(file);
                (ProtocolRegistry.Find(scenario.Cluster.Protocol) is null ? skipped : files).Add(file);
            }
            catch (ScenarioException e)
            {
                error.WriteLine($"error: {e.Message}");
                return ExitBadInput;
            }
        }

        foreach (var destination in new[] { request.Results, request.JUnit }.OfType<FileInfo>())
        {
            destination.Directory?.Create(); // A pod's fresh volume, a new results directory.
        }

        var wall = Stopwatch.StartNew();
        var cpuAtStart = Process.GetCurrentProcess().TotalProcessorTime;
        using var writer = request.Results is { } path ? new SwarmResultsWriter(path.CreateText()) : null;
        writer?.WriteHeader(new SwarmHeader(request.Shard.Index, request.Shard.Count, request.First, request.Seeds,
            files, skipped));
        var total = SwarmRunner.Pairs(files, request.First, request.Seeds).Where((_, i) => request.Shard.Owns(i))
            .Count();
        var live = ReferenceEquals(output, Console.Out) && !Console.IsOutputRedirected;
        var outcomes = SwarmRunner.Run(files, request.First, request.Seeds, request.Jobs, request.Shard,
            (outcome, done, failed) =>
            {
                writer?.WriteRun(outcome);
                if (live)
                {
                    output.Write(SwarmRunner.ProgressBar(done, total, failed, wall));
                }
            });
        if (live)
        {
            output.WriteLine();
        }

        // Process CPU time, start-up and JIT included: what a shard costs on the machine that runs it.
        var cpu = Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds;
        var failures = outcomes.Count(o => !o.Passed);
        writer?.WriteTotals(new SwarmTotals(outcomes.Count, outcomes.Count - failures, failures,
            wall.Elapsed.TotalSeconds, cpu));
        if (request.JUnit is { } junit)
        {
            SwarmJUnit.Write(junit.FullName, $"kepler-sim swarm shard {request.Shard}", outcomes);
        }

        PrintSwarmSummary(output, outcomes, skipped, request, wall.Elapsed.TotalSeconds,
            cpu - cpuAtStart.TotalSeconds, cpu);
        return failures == 0 ? ExitPass : ExitFailed;
    }

    private static void PrintSwarmSummary(TextWriter output, IReadOnlyList<SwarmOutcome> outcomes,
        IReadOnlyList<string> skipped, SwarmRequest request, double wallSeconds, double runCpuSeconds,
        double processCpuSeconds)
    {
        var inv = CultureInfo.InvariantCulture;
        var failures = outcomes.Where(o => !o.Passed).ToList();
        var shard = request.Shard.Count == 1 ? "" : $", shard {request.Shard}";
        output.WriteLine($"swarm:        {outcomes.Count} runs: {outcomes.Select(o => o.File).Distinct().Count()} " +
            $"scenario(s) x seeds {request.First}..{request.First + (ulong)request.Seeds - 1}{shard}, " +
            $"{request.Jobs} job(s)");
        output.WriteLine($"passed:       {outcomes.Count - failures.Count}");
        output.WriteLine($"failed:       {failures.Count}");
        foreach (var file in skipped)
        {
            output.WriteLine($"skipped:      {file} (its protocol is not available yet)");
        }

        output.WriteLine(string.Create(inv, $"wall time:    {wallSeconds:F2} s " +
            $"({outcomes.Count / Math.Max(wallSeconds / 60, 1e-9):F0} seeds/min)"));
        output.WriteLine(string.Create(inv, $"cpu time:     {runCpuSeconds:F1} s running seeds, " +
            $"{processCpuSeconds:F1} s whole process " +
            $"({outcomes.Count / Math.Max(processCpuSeconds / 60, 1e-9):F1} seeds per CPU-minute)"));
        foreach (var failure in failures)
        {
            output.WriteLine($"FAIL {failure.File} seed {failure.Seed}: {failure.Failure}");
            output.WriteLine($"  replay: {failure.Replay}");
        }
    }

    private static Command BuildMerge()
    {
        var inputs = new Argument<FileSystemInfo[]>("results")
        {
            Description = "Shard result files (swarm --results), or directories of *.jsonl",
            Arity = ArgumentArity.OneOrMore,
        };
        var junit = new Option<FileInfo?>("--junit") { Description = "Write the combined JUnit XML to FILE" };
        var merge = new Command("merge", "Put a swarm's shard results together: summary, missing shards, " +
            "failures with replay commands; exit 0 only when every seed ran and passed") { inputs, junit };
        merge.SetAction(parse =>
        {
            var output = parse.InvocationConfiguration.Output;
            try
            {
                var paths = parse.GetRequiredValue(inputs).SelectMany(ResultFiles).ToList();
                var report = SwarmMerge.Merge(paths.Select(SwarmResultsWriter.Read).ToList());
                if (parse.GetValue(junit) is { } path)
                {
                    SwarmJUnit.Write(path.FullName, $"kepler-sim swarm ({report.Swarm.Shards} shards)",
                        report.Outcomes);
                }

                SwarmMerge.Print(output, report);
                return report.Passed ? ExitPass : ExitFailed;
            }
            catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException)
            {
                parse.InvocationConfiguration.Error.WriteLine($"error: {e.Message}");
                return ExitBadInput;
            }
        });
        return merge;
    }

    private static IEnumerable<string> ResultFiles(FileSystemInfo input) =>
        input is DirectoryInfo { Exists: true } dir
            ? dir.EnumerateFiles("*.jsonl").Select(f => f.FullName).Order(StringComparer.Ordinal)
            : [input.FullName];
}
