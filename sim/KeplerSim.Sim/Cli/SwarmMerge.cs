using System.Globalization;

namespace KeplerSim.Sim.Cli;

/// <summary>A seed whose trace hash differs between two result files: the simulator was not deterministic.</summary>
/// <param name="File">The scenario file.</param>
/// <param name="Seed">The seed.</param>
/// <param name="Hashes">Each distinct trace hash with the result file that reported it first.</param>
public sealed record SwarmDivergence(string File, ulong Seed, IReadOnlyList<(string Hash, string ResultFile)> Hashes);

/// <summary>The shards of one swarm put together.</summary>
public sealed record SwarmMergeReport
{
    /// <summary>The swarm (shard field: the first file's).</summary>
    public required SwarmHeader Swarm { get; init; }

    /// <summary>Result files read.</summary>
    public required int ResultFiles { get; init; }

    /// <summary>One outcome per (file, seed) that ran, in the swarm's order.</summary>
    public required IReadOnlyList<SwarmOutcome> Outcomes { get; init; }

    /// <summary>How many (file, seed) pairs the swarm has.</summary>
    public required int Expected { get; init; }

    /// <summary>Shards with no result file.</summary>
    public required IReadOnlyList<int> MissingShards { get; init; }

    /// <summary>Result files that have no end line (the shard did not finish).</summary>
    public required IReadOnlyList<string> Unfinished { get; init; }

    /// <summary>Seeds run twice (a shard run again) whose trace hashes differ.</summary>
    public required IReadOnlyList<SwarmDivergence> Divergences { get; init; }

    /// <summary>CPU seconds of every shard that finished.</summary>
    public required double CpuSeconds { get; init; }

    /// <summary>Pairs that no result file has.</summary>
    public int Missing => Expected - Outcomes.Count;

    /// <summary>Failed runs.</summary>
    public int Failed => Outcomes.Count(o => !o.Passed);

    /// <summary>Every pair ran and passed, every shard finished, every repeated seed gave one trace hash.</summary>
    public bool Passed => Missing == 0 && Failed == 0 && Divergences.Count == 0 && Unfinished.Count == 0;
}

/// <summary>
/// <c>kepler-sim merge</c>: puts the result files of a swarm's shards together. Checks that they belong to one
/// swarm, that each run is of the shard that reports it, and which pairs are missing; a shard run twice counts
/// once, and its seeds' trace hashes must agree.
/// </summary>
public static class SwarmMerge
{
    /// <summary>Merges; throws <see cref="InvalidDataException"/> when the files are not shards of one swarm.</summary>
    public static SwarmMergeReport Merge(IReadOnlyList<SwarmResultsFile> results)
    {
        ArgumentNullException.ThrowIfNull(results);
        if (results.Count == 0)
        {
            throw new InvalidDataException("no result files to merge");
        }

        var swarm = results[0].Header;
        var index = new Dictionary<(string, ulong), int>();
        foreach (var (pair, i) in SwarmRunner.Pairs(swarm.Files, swarm.FirstSeed, swarm.Seeds).Select((p, i) => (p, i)))
        {
            index[pair] = i;
        }

        var byPair = new SortedDictionary<int, List<(SwarmOutcome Run, string Path)>>();
        foreach (var result in results)
        {
            CheckSameSwarm(swarm, result);
            var shard = new SwarmShard(result.Header.Shard, result.Header.Shards);
            foreach (var run in result.Runs)
            {
                if (!index.TryGetValue((run.File, run.Seed), out var i) || !shard.Owns(i))
                {
                    throw new InvalidDataException($"{result.Path}: {run.File} seed {run.Seed} is not a run of " +
                        $"shard {shard} of this swarm");
                }

                (byPair.TryGetValue(i, out var list) ? list : byPair[i] = []).Add((run, result.Path));
            }
        }

        var present = results.Select(r => r.Header.Shard).ToHashSet();
        return new SwarmMergeReport
        {
            Swarm = swarm, ResultFiles = results.Count,
            Outcomes = byPair.Values.Select(l => l[0].Run).ToList(),
            Expected = index.Count,
            MissingShards = Enumerable.Range(0, swarm.Shards).Where(k => !present.Contains(k)).ToList(),
            Unfinished = results.Where(r => r.Totals is null).Select(r => r.Path).ToList(),
            Divergences = byPair.Values.Select(Divergence).OfType<SwarmDivergence>().ToList(),
            CpuSeconds = results.Sum(r => r.Totals?.CpuSeconds ?? 0),
        };
    }

    private static void CheckSameSwarm(SwarmHeader swarm, SwarmResultsFile result)
    {
        if (!swarm.SameSwarm(result.Header))
        {
            throw new InvalidDataException($"{result.Path} is a shard of another swarm (files, first seed, seeds " +
                "or shard count differ from the first file's): merge the shards of one swarm at a time");
        }
    }

    private static SwarmDivergence? Divergence(List<(SwarmOutcome Run, string Path)> runs)
    {
        var hashes = runs.DistinctBy(r => r.Run.TraceHash, StringComparer.Ordinal)
            .Select(r => (r.Run.TraceHash, r.Path)).ToList();
        return hashes.Count < 2 ? null : new SwarmDivergence(runs[0].Run.File, runs[0].Run.Seed, hashes);
    }

    /// <summary>Prints the merged summary: counts, missing shards, divergences, and each failure's replay.</summary>
    public static void Print(TextWriter output, SwarmMergeReport report)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(report);
        var inv = CultureInfo.InvariantCulture;
        var swarm = report.Swarm;
        output.WriteLine($"merge:        {report.ResultFiles} result file(s) of a swarm in {swarm.Shards} shard(s): " +
            $"{swarm.Files.Count} scenario(s) x seeds {swarm.FirstSeed}..{swarm.FirstSeed + (ulong)swarm.Seeds - 1}");
        output.WriteLine($"runs:         {report.Outcomes.Count} of {report.Expected}");
        output.WriteLine($"passed:       {report.Outcomes.Count - report.Failed}");
        output.WriteLine($"failed:       {report.Failed}");
        output.WriteLine($"missing:      {report.Missing}" + (report.MissingShards.Count == 0 ? ""
            : $" (no result file for shard(s) {string.Join(", ", report.MissingShards)})"));
        foreach (var path in report.Unfinished)
        {
            output.WriteLine($"unfinished:   {path} (no end line: the shard stopped before its last run)");
        }

        output.WriteLine($"diverged:     {report.Divergences.Count}");
        output.WriteLine(string.Create(inv, $"cpu time:     {report.CpuSeconds:F1} s " +
            $"({report.Outcomes.Count / Math.Max(report.CpuSeconds / 60, 1e-9):F1} seeds per CPU-minute)"));
        foreach (var d in report.Divergences)
        {
            output.WriteLine($"DIVERGED {d.File} seed {d.Seed}: trace hashes " +
                string.Join(", ", d.Hashes.Select(h => $"{h.Hash} ({h.ResultFile})")));
            output.WriteLine($"  find the first divergent event: kepler-sim check-determinism " +
                $"{ReportPrinter.Quote(d.File)} --seed {d.Seed} --swarm");
        }

        foreach (var failure in report.Outcomes.Where(o => !o.Passed))
        {
            output.WriteLine($"FAIL {failure.File} seed {failure.Seed}: {failure.Failure}");
            output.WriteLine($"  replay: {failure.Replay}");
        }

        output.WriteLine($"result:       {(report.Passed ? "PASS" : "FAIL")}");
    }
}
