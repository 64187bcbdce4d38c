using System.Runtime.InteropServices;
using KeplerSim.Sim.Scenarios;

namespace KeplerSim.Sim.Real;

/// <summary>
/// Runs a scenario in real mode (<c>kepler-sim run FILE --real</c>) and guarantees the clean-up: every node
/// process is killed and every namespace and link removed when the run ends, fails, or is interrupted (Ctrl-C,
/// SIGTERM, SIGHUP: the signal cancels the run, whose dispose then cleans up before the process exits).
/// </summary>
public static class RealRunner
{
    /// <summary>Runs <paramref name="scenario"/> with <paramref name="seed"/> against real processes.</summary>
    public static async Task<RunResult> RunAsync(Scenario scenario, ulong seed, RealOptions options)
    {
        ArgumentNullException.ThrowIfNull(scenario);
        ArgumentNullException.ThrowIfNull(options);
        await using var run = new RealScenarioRun(scenario, seed, options);
        void OnCancel(object? sender, ConsoleCancelEventArgs e)
        {
            e.Cancel = true; // Let the run unwind and clean up; it exits soon after.
            run.Cancel();
        }

        Console.CancelKeyPress += OnCancel;
        using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Cancel);
        using var hup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, Cancel);
        try
        {
            return await run.ExecuteAsync();
        }
        finally
        {
            Console.CancelKeyPress -= OnCancel;
        }

        void Cancel(PosixSignalContext context)
        {
            context.Cancel = true;
            run.Cancel();
        }
    }

    /// <summary>
    /// The kepler-node binary: <paramref name="given"/>, else <c>dist/kepler-node</c> of the repository around the
    /// working directory, else a build output's <c>kepler-node.dll</c>, else it publishes <c>dist/kepler-node</c>
    /// (bounded); throws <see cref="ScenarioException"/> saying what it tried.
    /// </summary>
    public static string FindBinary(string? given, TextWriter log)
    {
        ArgumentNullException.ThrowIfNull(log);
        if (given is not null)
        {
            return File.Exists(given) ? Path.GetFullPath(given)
                : throw new ScenarioException($"--binary {given}: no such file");
        }

        var root = RepositoryRoot() ?? throw new ScenarioException(
            "no --binary given and no KeplerSim.sln above the working directory to find or build kepler-node in");
        var published = Path.Combine(root, "dist", "kepler-node");
        if (File.Exists(published))
        {
            return published;
        }

        foreach (var configuration in new[] { "Release", "Debug" })
        {
            var dll = Path.Combine(root, "node", "KeplerSim.Node", "bin", configuration, "net10.0", "kepler-node.dll");
            if (File.Exists(dll))
            {
                return dll;
            }
        }

        log.WriteLine("kepler-node not built: dotnet publish node/KeplerSim.Node -c Release -o dist");
        using var publish = System.Diagnostics.Process.Start("dotnet",
            ["publish", Path.Combine(root, "node", "KeplerSim.Node"), "-c", "Release", "-o",
                Path.Combine(root, "dist")]);
        if (!publish.WaitForExit(TimeSpan.FromMinutes(10)) || publish.ExitCode != 0 || !File.Exists(published))
        {
            throw new ScenarioException("could not publish kepler-node (dotnet publish failed); pass --binary PATH");
        }

        return published;
    }

    private static string? RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(Environment.CurrentDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "KeplerSim.sln")))
            {
                return dir.FullName;
            }
        }

        return null;
    }
}
