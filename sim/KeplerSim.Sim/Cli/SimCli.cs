using System.CommandLine;
using System.Globalization;
using KeplerSim.Sim.Scenarios;

namespace KeplerSim.Sim.Cli;

/// <summary>The <c>kepler-sim</c> command line.</summary>
public static class SimCli
{
    /// <summary>Exit code of a passing run.</summary>
    public const int ExitPass = 0;

    /// <summary>Exit code of a run whose expectations failed.</summary>
    public const int ExitFailed = 1;

    /// <summary>Exit code of a bad scenario file or bad arguments.</summary>
    public const int ExitBadInput = 2;

    /// <summary>Builds the root command.</summary>
    public static RootCommand Build()
    {
        var root = new RootCommand("kepler-sim: run KeplerFS scenarios in the deterministic simulator");
        root.Subcommands.Add(BuildRun());
        return root;
    }

    private static Command BuildRun()
    {
        var file = new Argument<FileInfo>("scenario") { Description = "Scenario YAML file" };
        var seed = new Option<ulong?>("--seed", "-s") { Description = "Root seed (overrides the file's seed)" };
        var trace = new Option<FileInfo?>("--trace") { Description = "Write the trace as JSON lines to FILE" };
        var run = new Command("run", "Run a scenario and print its seed and trace hash") { file, seed, trace };
        run.SetAction(parse =>
        {
            var output = parse.InvocationConfiguration.Output;
            var error = parse.InvocationConfiguration.Error;
            Scenario scenario;
            var path = parse.GetRequiredValue(file);
            try
            {
                if (!path.Exists)
                {
                    throw new ScenarioException($"{path}: file does not exist");
                }

                scenario = ScenarioLoader.LoadFile(path.FullName);
            }
            catch (ScenarioException e)
            {
                error.WriteLine($"error: {e.Message}");
                return ExitBadInput;
            }

            var runSeed = parse.GetValue(seed) ?? scenario.Seed;
            using var traceStream = parse.GetValue(trace) is { } t ? t.Create() : null;
            var result = ScenarioRunner.Run(scenario, runSeed, traceStream);
            PrintResult(output, result);
            return ExitPass;
        });
        return run;
    }

    private static void PrintResult(TextWriter output, RunResult result)
    {
        var inv = CultureInfo.InvariantCulture;
        output.WriteLine($"scenario:     {result.Scenario}");
        output.WriteLine($"virtual time: {result.VirtualMicroseconds / 1e6:F1} s");
        output.WriteLine(string.Create(inv, $"events:       {result.EventsExecuted:N0} ({result.TraceRecords:N0} traced)"));
        output.WriteLine(string.Create(inv, $"wall time:    {result.WallSeconds:F2} s ({result.VirtualMicroseconds / 1e6 / Math.Max(result.WallSeconds, 1e-9):F0}x real time)"));
        var faults = result.FaultCounts.Count == 0
            ? "none"
            : string.Join(", ", result.FaultCounts.Select(kv => $"{kv.Key} {kv.Value}"));
        output.WriteLine($"faults:       {faults}");
        output.WriteLine($"seed:         {result.Seed}");
        output.WriteLine($"trace hash:   {result.TraceHash}");
    }
}
