using System.Globalization;
using KeplerSim.Sim.Invariants;
using KeplerSim.Sim.Scenarios;

namespace KeplerSim.Tests.Chaos;

/// <summary>A generated case broke an expectation; the message lists what failed.</summary>
public sealed class ChaosCaseFailedException(string message) : Exception(message);

/// <summary>
/// Runs generated cases exactly as a user would run the file: the case is written to scenario YAML, loaded with
/// <see cref="ScenarioLoader"/> and run with <see cref="ScenarioRunner"/>. What the property checks is therefore
/// what the written file reproduces.
/// </summary>
public static class ChaosRunner
{
    /// <summary>Environment variable: how many cases the property tests generate (default: the fast tier).</summary>
    public const string CasesVariable = "KEPLER_CHAOS_CASES";

    /// <summary>Environment variable: run the property for this many minutes instead of a number of cases.</summary>
    public const string MinutesVariable = "KEPLER_CHAOS_MINUTES";

    /// <summary>Environment variable: seconds to keep shrinking a failure (default 30).</summary>
    public const string ShrinkVariable = "KEPLER_CHAOS_SHRINK_SECONDS";

    /// <summary>Cases of the fast tier (dotnet test).</summary>
    public const int FastTierCases = 300;

    /// <summary>The command that runs a scenario file.</summary>
    public static string Command(string file) => $"dotnet run --project sim/KeplerSim.Sim -- run {file}";

    /// <summary>Loads the case's YAML and runs it; the result of the file, not of the object.</summary>
    public static RunResult Run(ChaosCase chaosCase)
    {
        ArgumentNullException.ThrowIfNull(chaosCase);
        var scenario = ScenarioLoader.Parse(chaosCase.ToYaml(), "chaos-case.yaml");
        return ScenarioRunner.Run(scenario, scenario.Seed);
    }

    /// <summary>The property: the case's run passes every expectation; throws with the failures otherwise.</summary>
    public static void Check(ChaosCase chaosCase)
    {
        var result = Run(chaosCase);
        if (!result.Passed)
        {
            throw new ChaosCaseFailedException(Failures(result) + $"\ntrace hash: {result.TraceHash}");
        }

        // Long runs report progress to a file (KEPLER_CHAOS_PROGRESS), so a run cut short still says how far it got.
        var passed = Interlocked.Increment(ref s_passed);
        if (passed % ProgressEvery == 0 && Environment.GetEnvironmentVariable(ProgressVariable) is { Length: > 0 } file)
        {
            File.AppendAllText(file, string.Create(CultureInfo.InvariantCulture,
                $"{DateTime.UtcNow:HH:mm:ss} {passed} cases passed\n"));
        }
    }

    private const string ProgressVariable = "KEPLER_CHAOS_PROGRESS";
    private const int ProgressEvery = 250;
    private static long s_passed;

    /// <summary>The failed expectations, one per line.</summary>
    public static string Failures(RunResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        return string.Join("\n", result.Expectations.Where(e => e.Status == ExpectationStatus.Fail)
            .Select(e => $"FAIL {e.Name}: {e.Detail}"));
    }

    /// <summary>
    /// Writes a (shrunk) failing case as a scenario file with comments saying what failed, its trace hash and the
    /// command that reproduces it, and returns the text for the failure message: path, command, file content.
    /// </summary>
    public static string Report(ChaosCase shrunk)
    {
        ArgumentNullException.ThrowIfNull(shrunk);
        var chaosCase = Minimize(shrunk);
        var result = Run(chaosCase);
        var directory = Path.Combine(Path.GetTempPath(), "kepler-chaos");
        Directory.CreateDirectory(directory);
        var file = Path.Combine(directory, $"case-{result.TraceHash}.yaml");
        var comments = new List<string>
        {
            "Shrunk by the CsCheck chaos property (tests/KeplerSim.Tests/Chaos).",
            $"Run it: {Command(file)}",
            $"Expected: result FAIL, trace hash {result.TraceHash}.",
        };
        comments.AddRange(Failures(result).Split('\n').Select(l => l.Length > 110 ? l[..110] + "…" : l));
        var yaml = chaosCase.ToYaml(comments);
        File.WriteAllText(file, yaml);
        var lines = yaml.Count(c => c == '\n');
        return string.Create(CultureInfo.InvariantCulture,
            $"\nshrunk scenario: {file} ({lines} lines, {chaosCase.ToScenario().Steps.Count} steps; CsCheck's case " +
            $"had {shrunk.ToScenario().Steps.Count} steps and {shrunk.Cluster.Nodes} nodes)\n" +
            $"reproduce: {Command(file)}\n\n{yaml}");
    }

    /// <summary>Most runs <see cref="Minimize"/> spends.</summary>
    public const int MinimizeRunsMax = 300;

    /// <summary>
    /// Finishes CsCheck's shrinking (which only finds smaller cases by chance) with delta debugging: removes one
    /// generated step at a time, then one node, while the case still fails, until nothing more can go.
    /// </summary>
    public static ChaosCase Minimize(ChaosCase failing)
    {
        ArgumentNullException.ThrowIfNull(failing);
        var current = failing;
        var runs = 0;
        bool Fails(ChaosCase candidate)
        {
            runs++;
            return !Run(candidate).Passed;
        }

        for (var changed = true; changed && runs < MinimizeRunsMax;)
        {
            changed = false;
            for (var i = current.Steps.Count - 1; i >= 0 && runs < MinimizeRunsMax; i--)
            {
                var index = i;
                var candidate = current with { Steps = current.Steps.Where((_, j) => j != index).ToList() };
                if (Fails(candidate))
                {
                    (current, changed) = (candidate, true);
                }
            }

            var c = current.Cluster;
            if (c.Nodes > 1 && runs < MinimizeRunsMax)
            {
                var fewer = current with
                {
                    Cluster = c with
                    {
                        Nodes = c.Nodes - 1, Initial = Math.Min(c.Initial, c.Nodes - 1),
                        ReplicationFactor = Math.Min(c.ReplicationFactor, c.Nodes - 1),
                    },
                };
                if (Fails(fewer))
                {
                    (current, changed) = (fewer, true);
                }
            }
        }

        return current;
    }

    /// <summary>Environment variable: set to 1 to draw fresh random cases in the fast tier instead of the fixed ones.</summary>
    public const string RandomVariable = "KEPLER_CHAOS_RANDOM";

    /// <summary>
    /// The fixed cases' root: case i is generated from the i-th seed a PCG on this root draws, so the fast tier in
    /// <c>dotnet test</c> (and CI) checks the same 300 cases on every run and a red run is a change's doing.
    /// Fresh cases run in the long tier and with <see cref="RandomVariable"/>: a CI gate that fails on code nobody
    /// changed blocks unrelated work (a fresh case in CI found scenarios/regressions/scrub-repair-disk-full.yaml).
    /// </summary>
    public const ulong FixedRoot = 20261206;

    /// <summary>
    /// Whether the property draws fresh random cases: in the long tier (<see cref="CasesVariable"/>,
    /// <see cref="MinutesVariable"/>), when replaying a seed (<c>CsCheck_Seed</c>) or with <see cref="RandomVariable"/>.
    /// </summary>
    public static bool FreshCases() =>
        new[] { CasesVariable, MinutesVariable, "CsCheck_Seed" }
            .Any(v => Environment.GetEnvironmentVariable(v) is { Length: > 0 })
        || Environment.GetEnvironmentVariable(RandomVariable) == "1";

    /// <summary>The CsCheck seeds of the fixed cases (replayable with <c>CsCheck_Seed</c>).</summary>
    public static IReadOnlyList<string> FixedSeeds(int cases)
    {
        var root = new CsCheck.PCG(FixedStream, FixedRoot);
        return Enumerable.Range(0, cases).Select(_ => new CsCheck.PCG(FixedStream, root.Next64()).ToString()).ToList();
    }

    private const uint FixedStream = 7;

    /// <summary>
    /// Runs the fixed cases on <c>CsCheck_Threads</c> threads (default: every core) and returns the first failing one
    /// by index, or null when all pass.
    /// </summary>
    public static (int Index, string Seed, string Message)? FirstFailingFixedCase(int cases)
    {
        var seeds = FixedSeeds(cases);
        var failures = new System.Collections.Concurrent.ConcurrentBag<(int Index, string Seed, string Message)>();
        var threads = int.TryParse(Environment.GetEnvironmentVariable("CsCheck_Threads"), NumberStyles.None,
            CultureInfo.InvariantCulture, out var t) && t > 0 ? t : Environment.ProcessorCount;
        Parallel.For(0, cases, new ParallelOptions { MaxDegreeOfParallelism = threads }, i =>
        {
            try
            {
                Check(ChaosGen.Case.Generate(CsCheck.PCG.Parse(seeds[i]), null, out _));
            }
#pragma warning disable CA1031 // Any exception is the case's failure, reported with its seed (as CsCheck does).
            catch (Exception e)
#pragma warning restore CA1031
            {
                failures.Add((i, seeds[i], e.Message));
            }
        });
        return failures.IsEmpty ? null : failures.MinBy(f => f.Index);
    }

    /// <summary>How many cases to run: <see cref="CasesVariable"/>, 1 when replaying a CsCheck seed, else the fast
    /// tier's count.</summary>
    public static long Iterations() =>
        long.TryParse(Environment.GetEnvironmentVariable(CasesVariable), NumberStyles.None,
            CultureInfo.InvariantCulture, out var cases) ? cases
        : Environment.GetEnvironmentVariable("CsCheck_Seed") is { Length: > 0 } ? 1 : FastTierCases;

    /// <summary>Seconds to keep shrinking a failure (<see cref="ShrinkVariable"/>, default 30).</summary>
    public static int ShrinkSeconds() =>
        int.TryParse(Environment.GetEnvironmentVariable(ShrinkVariable), NumberStyles.None,
            CultureInfo.InvariantCulture, out var seconds) ? seconds : 30;

    /// <summary>The seed in a CsCheck failure message (<c>Set seed: "…"</c>), or null.</summary>
    public static string? SeedOf(string message)
    {
        ArgumentNullException.ThrowIfNull(message);
        const string marker = "Set seed: \"";
        var start = message.IndexOf(marker, StringComparison.Ordinal);
        var end = start < 0 ? -1 : message.IndexOf('"', start + marker.Length);
        return end < 0 ? null : message[(start + marker.Length)..end];
    }

    /// <summary>Seconds to run for (<see cref="MinutesVariable"/>), or -1 to count cases instead.</summary>
    public static int Seconds() =>
        double.TryParse(Environment.GetEnvironmentVariable(MinutesVariable), NumberStyles.Float,
            CultureInfo.InvariantCulture, out var minutes) ? (int)(minutes * 60) : -1;
}
