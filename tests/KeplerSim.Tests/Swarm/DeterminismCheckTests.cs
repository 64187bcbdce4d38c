using System.Globalization;
using KeplerSim.Sim.Cli;
using KeplerSim.Sim.Kernel;
using KeplerSim.Sim.Scenarios;

namespace KeplerSim.Tests.Swarm;

/// <summary>
/// Issue 14 point 5: when determinism breaks, say where. A nondeterminism is planted through the harness's test
/// hook (one extra draw from one node's random stream at a chosen virtual time; nothing in core) and the trace
/// comparison must name that node, at or after that time, with both versions of the event.
/// </summary>
[Trait("Category", "Fast")]
public sealed class DeterminismCheckTests
{
    private const ulong Seed = 1234;
    private static readonly string File = Repo.Scenario("fast/determinism.yaml");

    [Fact]
    public void A_planted_random_draw_is_reported_at_its_node_and_time_and_an_unplanted_rerun_is_identical()
    {
        var scenario = ScenarioLoader.LoadFile(File);
        var plain = Trace(scenario, null);
        Assert.Null(TraceDiff.FirstDivergence(plain, Trace(scenario, null), out var all));
        Assert.Equal(plain.Count, all);

        // Ping nodes draw from their random stream for every ping (its delay and its peer): n2's next ping after
        // 2 s goes elsewhere or later, and that is the first thing that can differ. Nothing before 2 s may.
        var plant = new PlantedNondeterminism("n2", 2_000_000);
        var planted = Trace(scenario, plant);
        var divergence = TraceDiff.FirstDivergence(plain, planted, out var agreed);
        Assert.NotNull(divergence);
        Assert.Equal("n2", divergence.First.Node);
        Assert.InRange(divergence.First.TimeMicroseconds, plant.AtMicroseconds, plant.AtMicroseconds + 1_000_000);
        Assert.NotNull(divergence.A);
        Assert.NotNull(divergence.B);
        Assert.NotEqual(divergence.A, divergence.B);
        Assert.Equal(agreed + 1, divergence.Index);
        Assert.Equal(plain.Take((int)agreed), planted.Take((int)agreed));
        Assert.Equal(plain[(int)agreed], divergence.A);
        Assert.Equal(planted[(int)agreed], divergence.B);
        Assert.Equal(TraceDiff.ContextRecords, divergence.Before.Count);
        Assert.Equal(plain[(int)agreed - 1], divergence.Before[^1]);
        Assert.True(plain.Count(r => r.TimeMicroseconds < plant.AtMicroseconds) <= agreed,
            "the traces parted before the plant");
    }

    [Fact]
    public void A_trace_that_stops_early_diverges_where_it_ends()
    {
        var a = new List<TraceRecord>
        {
            new(1, "n1", TraceKind.NodeStarted, null, 1, 0),
            new(5, "n2", TraceKind.TimerFired, null, 0, 0),
        };
        var divergence = TraceDiff.FirstDivergence(a, a.Take(1), out var agreed);
        Assert.Equal(1, agreed);
        Assert.Equal(2, divergence!.Index);
        Assert.Null(divergence.B);
        Assert.Equal(a[1], divergence.First);
        Assert.Equal("(the trace ends here)", TraceDiff.Describe(divergence.B));

        // When both have a record, the earlier one is where behaviour first differed.
        var later = TraceDiff.FirstDivergence(a, [a[0], a[1] with { TimeMicroseconds = 3, Node = "n3" }], out _);
        Assert.Equal("n3", later!.First.Node);
    }

    [Fact]
    public void Diff_trace_prints_the_first_divergent_event_with_its_time_node_and_both_versions()
    {
        var directory = SimCliInProcess.TempDirectory();
        try
        {
            var scenario = ScenarioLoader.LoadFile(File);
            var a = Path.Combine(directory, "a.jsonl");
            var b = Path.Combine(directory, "b.jsonl");
            WriteTrace(scenario, a, null);
            WriteTrace(scenario, b, new PlantedNondeterminism("n4", 5_000_000));
            var same = SimCliInProcess.Run("diff-trace", a, a);
            Assert.True(same.ExitCode == SimCli.ExitPass, same.Output);
            Assert.StartsWith("identical (", Repo.Field(same.Output, "traces"), StringComparison.Ordinal);

            var (exit, output) = SimCliInProcess.Run("diff-trace", a, b);
            Assert.True(exit == SimCli.ExitFailed, output);
            Assert.StartsWith("DIVERGE at record ", Repo.Field(output, "traces"), StringComparison.Ordinal);
            Assert.Equal("n4", Repo.Field(output, "node"));
            var time = double.Parse(Repo.Field(output, "virtual time").TrimEnd('s', ' '), CultureInfo.InvariantCulture);
            Assert.InRange(time, 5.0, 6.0);
            Assert.Contains(" n4 ", Repo.Field(output, "A"), StringComparison.Ordinal);
            Assert.EndsWith($"[{b}]", Repo.Field(output, "B"), StringComparison.Ordinal);

            var bad = SimCliInProcess.Run("diff-trace", a, Path.Combine(directory, "none.jsonl"));
            Assert.True(bad.ExitCode == SimCli.ExitBadInput, bad.Output);
            var wrong = Path.Combine(directory, "wrong.jsonl");
            System.IO.File.WriteAllText(wrong, "{\"t\":\"soon\",\"node\":\"n1\",\"kind\":\"TimerFired\"}\n");
            var typed = SimCliInProcess.Run("diff-trace", a, wrong);
            Assert.True(typed.ExitCode == SimCli.ExitBadInput, typed.Output);
            Assert.Contains("not a readable trace", typed.Output, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>
    /// The command end to end: run A in a second process, run B here beside another seed (as under --jobs 2).
    /// Clean, they agree; with the plant in B, the report names n2 at or after 2 s.
    /// </summary>
    [Fact]
    public void Check_determinism_compares_a_separate_process_with_a_parallel_run_and_finds_the_plant()
    {
        var seed = Seed.ToString(CultureInfo.InvariantCulture);
        var clean = SimCliInProcess.Run("check-determinism", File, "--seed", seed);
        Assert.True(clean.ExitCode == SimCli.ExitPass, clean.Output);
        Assert.Equal("DETERMINISTIC", Repo.Field(clean.Output, "result"));

        var planted = SimCliInProcess.Run("check-determinism", File, "--seed", seed, "--plant-nondeterminism", "n2@2s");
        Assert.True(planted.ExitCode == SimCli.ExitFailed, planted.Output);
        Assert.Equal("NOT DETERMINISTIC", Repo.Field(planted.Output, "result"));
        Assert.Equal("n2", Repo.Field(planted.Output, "node"));
        var time = double.Parse(Repo.Field(planted.Output, "virtual time").TrimEnd('s', ' '),
            CultureInfo.InvariantCulture);
        Assert.InRange(time, 2.0, 3.0);
        foreach (var path in Repo.Field(planted.Output, "kept").Split(' '))
        {
            Assert.True(System.IO.File.Exists(path), $"kept trace {path} is missing");
            System.IO.File.Delete(path);
        }

        Directory.Delete(Path.GetDirectoryName(Repo.Field(planted.Output, "kept").Split(' ')[0])!);

        var unknown = SimCliInProcess.Run("check-determinism", File, "--plant-nondeterminism", "n99@2s");
        Assert.True(unknown.ExitCode == SimCli.ExitBadInput, unknown.Output);
        Assert.Contains("no node 'n99'", unknown.Output, StringComparison.Ordinal);
    }

    private static List<TraceRecord> Trace(Scenario scenario, PlantedNondeterminism? plant)
    {
        using var stream = new MemoryStream();
        ScenarioRunner.Run(scenario, Seed, stream, nondeterminism: plant);
        stream.Position = 0;
        using var reader = new StreamReader(stream);
        return TraceRecorder.ReadJsonLines(reader).ToList();
    }

    private static void WriteTrace(Scenario scenario, string path, PlantedNondeterminism? plant)
    {
        using var stream = System.IO.File.Create(path);
        ScenarioRunner.Run(scenario, Seed, stream, nondeterminism: plant);
    }
}
