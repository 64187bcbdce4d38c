using System.Diagnostics;
using System.Globalization;
using KeplerSim.Sim.Invariants;
using KeplerSim.Sim.Scenarios;

namespace KeplerSim.Sim.Cli;

/// <summary>The outcome of one seed of a swarm.</summary>
/// <param name="File">The scenario file.</param>
/// <param name="Seed">The seed.</param>
/// <param name="Passed">Whether every expectation held.</param>
/// <param name="TraceHash">The trace hash.</param>
/// <param name="Failure">The first failed expectation, if any.</param>
/// <param name="Replay">The command that replays it.</param>
/// <param name="WallSeconds">Wall-clock seconds the run took.</param>
public sealed record SwarmOutcome(string File, ulong Seed, bool Passed, string TraceHash, string? Failure,
    string Replay, double WallSeconds = 0);

/// <summary>
/// Runs many seeds of one or more scenarios, each with the file's swarm randomisation, on
/// <c>--jobs</c> threads. Every seed gets its own <see cref="Kernel.Simulation"/> built and run on one thread;
/// simulations share nothing, so the outcome of a seed does not depend on the job count.
/// </summary>
public static class SwarmRunner
{
    /// <summary>Runs every (file, seed) pair; <paramref name="progress"/> is called after each (any thread).</summary>
    public static IReadOnlyList<SwarmOutcome> Run(IReadOnlyList<string> files, ulong firstSeed, int seeds, int jobs,
        Action<int, int>? progress = null) =>
        Run(files, firstSeed, seeds, jobs, SwarmShard.Whole, progress is null ? null : (_, d, f) => progress(d, f));

    /// <summary>
    /// Runs this <paramref name="shard"/>'s share of the (file, seed) pairs (see <see cref="SwarmShard"/>), in one
    /// process so the JIT is paid once, on <paramref name="jobs"/> threads. <paramref name="completed"/> is called
    /// after each run with its outcome and the counts so far (from any thread, one call at a time). Returns the
    /// outcomes in the pairs' order.
    /// </summary>
    public static IReadOnlyList<SwarmOutcome> Run(IReadOnlyList<string> files, ulong firstSeed, int seeds, int jobs,
        SwarmShard shard, Action<SwarmOutcome, int, int>? completed)
    {
        ArgumentNullException.ThrowIfNull(files);
        var work = Pairs(files, firstSeed, seeds).Where((_, i) => shard.Owns(i)).ToList();
        var outcomes = new SwarmOutcome[work.Count];
        var done = 0;
        var failed = 0;
        var gate = new Lock();
        Parallel.For(0, work.Count, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, jobs) }, i =>
        {
            var (file, seed) = work[i];
            var outcome = RunOne(file, seed);
            outcomes[i] = outcome;
            lock (gate)
            {
                failed += outcome.Passed ? 0 : 1;
                completed?.Invoke(outcome, ++done, failed);
            }
        });
        return outcomes;
    }

    /// <summary>Every (file, seed) pair of a swarm, in the order shards are cut from.</summary>
    public static IEnumerable<(string File, ulong Seed)> Pairs(IReadOnlyList<string> files, ulong firstSeed,
        int seeds)
    {
        ArgumentNullException.ThrowIfNull(files);
        return files.SelectMany(f => Enumerable.Range(0, seeds).Select(i => (f, firstSeed + (ulong)i)));
    }

    private static SwarmOutcome RunOne(string file, ulong seed)
    {
        var scenario = ScenarioLoader.LoadFile(file);
        var choices = SwarmKnobs.Apply(scenario, seed);
        var result = ScenarioRunner.Run(scenario, seed, null, choices);
        var failure = result.Expectations.FirstOrDefault(e => e.Status == ExpectationStatus.Fail);
        return new SwarmOutcome(file, seed, result.Passed, result.TraceHash,
            failure is null ? null : $"{failure.Name}: {failure.Detail}", ReportPrinter.ReplayCommand(result),
            result.WallSeconds);
    }

    /// <summary>A one-line progress bar (for terminals).</summary>
    public static string ProgressBar(int done, int total, int failed, Stopwatch wall)
    {
        ArgumentNullException.ThrowIfNull(wall);
        const int width = 30;
        var filled = total == 0 ? width : done * width / total;
        var rate = done / Math.Max(wall.Elapsed.TotalMinutes, 1e-9);
        return string.Create(CultureInfo.InvariantCulture,
            $"\r[{new string('#', filled)}{new string('.', width - filled)}] {done}/{total} seeds, {failed} failed, " +
            $"{rate:F0} seeds/min ");
    }
}
