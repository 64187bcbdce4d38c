using System.CommandLine;
using KeplerSim.Sim.Cli;

namespace KeplerSim.Tests.Swarm;

/// <summary>Runs a kepler-sim command in this process (no start-up cost), capturing its output and error.</summary>
internal static class SimCliInProcess
{
    public static (int ExitCode, string Output) Run(params string[] args)
    {
        using var output = new StringWriter();
        var exit = SimCli.Build().Parse(args).Invoke(new InvocationConfiguration { Output = output, Error = output });
        return (exit, output.ToString());
    }

    /// <summary>A fresh temporary directory (tests delete it when done).</summary>
    public static string TempDirectory() => Directory.CreateTempSubdirectory("kepler-swarm-test-").FullName;
}
