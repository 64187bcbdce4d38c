using KeplerSim.Node.Tests.Support;
using KeplerSim.Sim.Invariants;
using KeplerSim.Sim.Real;
using KeplerSim.Sim.Scenarios;

namespace KeplerSim.Node.Tests.RealMode;

/// <summary>Runs scenario files in real mode (<c>kepler-sim run FILE --real</c>) from the tests: the kepler-node
/// next to the tests, network namespaces as root, else loopback (RealRunner decides and the report says which).
/// </summary>
internal static class RealModeRuns
{
    /// <summary>The repository's <c>scenarios/</c> file.</summary>
    public static string Scenario(string relative)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "KeplerSim.sln")))
            {
                return Path.Combine(dir.FullName, "scenarios", relative);
            }
        }

        throw new InvalidOperationException("no KeplerSim.sln above the tests");
    }

    public static Task<RunResult> RunAsync(Scenario scenario,
        Func<IReadOnlyDictionary<string, string>, Task>? beforeFinalChecks = null, bool loopback = false) =>
        RealRunner.RunAsync(scenario, scenario.Seed, new RealOptions
        {
            Binary = Nodes.NodeDll,
            RunsRoot = Path.Combine(Path.GetTempPath(), "kepler-node-tests", "real-mode"),
            BeforeFinalChecks = beforeFinalChecks,
            KeepFailedData = false,
            Loopback = loopback,
        });

    /// <summary>
    /// Asserts every invariant and every file step held and every N/A line says why. Wall-clock bounds
    /// (<c>wait_until … within</c>, metric floors of a rate-driven workload) are left out: on a shared CI machine a
    /// real node's start alone can take longer than a simulated scenario's tightest bound (docs/SCENARIOS.md).
    /// </summary>
    public static void AssertInvariantsHeld(RunResult result)
    {
        var report = Report(result);
        foreach (var e in result.Expectations)
        {
            var timing = e.Name.Contains("wait_until", StringComparison.Ordinal)
                || e.Name.StartsWith("metric ", StringComparison.Ordinal);
            Assert.False(e.Status == ExpectationStatus.Fail && !timing, $"{e.Name} failed: {e.Detail}\n{report}");
            Assert.False(e.Status == ExpectationStatus.NotApplicable && e.Detail.Length == 0,
                $"{e.Name} N/A without a reason\n{report}");
        }

        Assert.Contains(result.Expectations, e => e.Name == InvariantCatalog.AcknowledgedWritesReadable
            && e.Status == ExpectationStatus.Pass);
    }

    public static string Report(RunResult result)
    {
        using var text = new StringWriter();
        KeplerSim.Sim.Cli.ReportPrinter.Print(text, result);
        return text.ToString();
    }
}
