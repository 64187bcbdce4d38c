using System.CommandLine;
using KeplerSim.Sim.Scenarios;

namespace KeplerSim.Sim.Cli;

/// <summary>
/// The <c>kepler-sim</c> command line: run, replay, swarm, merge, check, diff-trace, check-determinism, bench.
/// </summary>
public static partial class SimCli
{
    /// <summary>Exit code of a passing run.</summary>
    public const int ExitPass = 0;

    /// <summary>Exit code of a run whose expectations failed.</summary>
    public const int ExitFailed = 1;

    /// <summary>Exit code of a bad scenario file or bad arguments.</summary>
    public const int ExitBadInput = 2;

    /// <summary>Most seeds one swarm command runs.</summary>
    public const int SwarmSeedsMax = 1_000_000;

    /// <summary>Builds the root command.</summary>
    public static RootCommand Build()
    {
        var root = new RootCommand("kepler-sim: run KeplerFS scenarios in the deterministic simulator");
        root.Subcommands.Add(BuildRun(replay: false));
        root.Subcommands.Add(BuildRun(replay: true));
        root.Subcommands.Add(BuildSwarm());
        root.Subcommands.Add(BuildMerge());
        root.Subcommands.Add(BuildCheck());
        root.Subcommands.Add(BuildDiffTrace());
        root.Subcommands.Add(BuildCheckDeterminism());
        root.Subcommands.Add(BenchCommand.Build());
        return root;
    }

    private static Command BuildRun(bool replay)
    {
        var file = new Argument<FileInfo>("scenario") { Description = "Scenario YAML file" };
        var seed = new Option<ulong?>("--seed", "-s")
        {
            Description = replay ? "The seed to replay" : "Root seed (overrides the file's seed)",
            Required = replay,
        };
        var trace = new Option<FileInfo?>("--trace") { Description = "Write the trace as JSON lines to FILE" };
        var json = new Option<bool>("--json") { Description = "Print the report as JSON" };
        var swarm = new Option<bool>("--swarm") { Description = "Apply the file's swarm randomisation for the seed" };
        var command = replay
            ? new Command("replay", "Replay one seed bit for bit (as printed by run and swarm)") { file, seed, trace,
                json, swarm }
            : new Command("run", "Run a scenario: report, seed, trace hash; exit 0 pass, 1 fail, 2 bad file")
            {
                file, seed, trace, json, RealCli.Real, RealCli.Binary, RealCli.Loopback, RealCli.Keep,
            };
        command.SetAction(parse =>
        {
            var output = parse.InvocationConfiguration.Output;
            var error = parse.InvocationConfiguration.Error;
            var path = parse.GetRequiredValue(file);
            try
            {
                var scenario = ScenarioLoader.LoadFile(path.ToString());
                var runSeed = parse.GetValue(seed) ?? scenario.Seed;
                if (!replay && parse.GetValue(RealCli.Real))
                {
                    return RealCli.Run(parse, scenario, runSeed, parse.GetValue(json));
                }

                var choices = replay && parse.GetValue(swarm) ? SwarmKnobs.Apply(scenario, runSeed) : null;
                using var traceStream = parse.GetValue(trace) is { } t ? t.Create() : null;
                var result = ScenarioRunner.Run(scenario, runSeed, traceStream, choices);
                if (parse.GetValue(json))
                {
                    ReportPrinter.PrintJson(output, result);
                }
                else
                {
                    ReportPrinter.Print(output, result);
                }

                return result.Passed ? ExitPass : ExitFailed;
            }
            catch (ScenarioException e)
            {
                error.WriteLine($"error: {e.Message}");
                return ExitBadInput;
            }
        });
        return command;
    }

    private static Command BuildCheck()
    {
        var target = new Argument<FileSystemInfo>("scenarios")
        {
            Description = "A scenario file or a directory of them",
        };
        var check = new Command("check", "Validate scenario files without running them") { target };
        check.SetAction(parse =>
        {
            var output = parse.InvocationConfiguration.Output;
            var error = parse.InvocationConfiguration.Error;
            var bad = 0;
            var files = ScenarioFiles(parse.GetRequiredValue(target));
            foreach (var file in files)
            {
                try
                {
                    var s = ScenarioLoader.LoadFile(file);
                    var note = ProtocolRegistry.Find(s.Cluster.Protocol) is null ? ", protocol not available yet" : "";
                    output.WriteLine($"ok     {file} ({s.Name}: {s.Cluster.NodeNames().Count} nodes, " +
                        $"{s.Cluster.Protocol}, {s.Steps.Count} steps{note})");
                }
                catch (ScenarioException e)
                {
                    bad++;
                    error.WriteLine($"error: {e.Message}");
                }
            }

            if (files.Count == 0)
            {
                error.WriteLine($"error: {parse.GetRequiredValue(target)}: no scenario files (*.yaml)");
                return ExitBadInput;
            }

            return bad == 0 ? ExitPass : ExitBadInput;
        });
        return check;
    }

    /// <summary>The file itself, or every <c>*.yaml</c> under the directory, ordinally sorted.</summary>
    public static IReadOnlyList<string> ScenarioFiles(FileSystemInfo target)
    {
        ArgumentNullException.ThrowIfNull(target);
        return target is DirectoryInfo { Exists: true } dir
            ? dir.EnumerateFiles("*.yaml", SearchOption.AllDirectories)
                .Select(f => Path.GetRelativePath(Environment.CurrentDirectory, f.FullName))
                .Order(StringComparer.Ordinal).ToList()
            : [target.ToString()];
    }
}
