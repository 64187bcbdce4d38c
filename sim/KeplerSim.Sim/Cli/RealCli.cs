using System.CommandLine;
using KeplerSim.Sim.Real;
using KeplerSim.Sim.Scenarios;

namespace KeplerSim.Sim.Cli;

/// <summary>The options of <c>kepler-sim run FILE --real</c> (docs/SCENARIOS.md, "Real mode").</summary>
internal static class RealCli
{
    /// <summary>Exit code of a run interrupted by Ctrl-C or SIGTERM (128 + SIGINT).</summary>
    public const int ExitInterrupted = 130;

    /// <summary><c>--real</c>.</summary>
    public static readonly Option<bool> Real = new("--real")
    {
        Description = "Run the file against real kepler-node processes (network namespaces as root, else loopback)",
    };

    /// <summary><c>--binary</c>.</summary>
    public static readonly Option<FileInfo?> Binary = new("--binary")
    {
        Description = "With --real: the kepler-node executable or .dll (default: dist/kepler-node, built if missing)",
    };

    /// <summary><c>--loopback</c>.</summary>
    public static readonly Option<bool> Loopback = new("--loopback")
    {
        Description = "With --real: run on loopback without namespaces (process faults only)",
    };

    /// <summary><c>--keep</c>.</summary>
    public static readonly Option<bool> Keep = new("--keep")
    {
        Description = "With --real: keep the run directory (node data) even when the run passes",
    };

    /// <summary>Runs the scenario in real mode and prints the report.</summary>
    public static int Run(ParseResult parse, Scenario scenario, ulong seed, bool json)
    {
        var output = parse.InvocationConfiguration.Output;
        var options = new RealOptions
        {
            Binary = RealRunner.FindBinary(parse.GetValue(Binary)?.FullName, parse.InvocationConfiguration.Error),
            RunsRoot = Path.Combine(Path.GetTempPath(), "kepler-sim-real"),
            Loopback = parse.GetValue(Loopback),
            KeepData = parse.GetValue(Keep),
        };
        RunResult result;
        try
        {
            result = RealRunner.RunAsync(scenario, seed, options).GetAwaiter().GetResult();
        }
        catch (OperationCanceledException)
        {
            parse.InvocationConfiguration.Error.WriteLine("interrupted: every node process, namespace and link of " +
                "the run was removed");
            return ExitInterrupted;
        }

        if (json)
        {
            ReportPrinter.PrintJson(output, result);
        }
        else
        {
            ReportPrinter.Print(output, result);
        }

        return result.Passed ? SimCli.ExitPass : SimCli.ExitFailed;
    }
}
