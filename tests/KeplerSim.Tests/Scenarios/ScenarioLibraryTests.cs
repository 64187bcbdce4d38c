using KeplerSim.Sim.Scenarios;

namespace KeplerSim.Tests.Scenarios;

/// <summary>Every file in scenarios/ is valid, and every fast scenario passes.</summary>
[Trait("Category", "Fast")]
public sealed class ScenarioLibraryTests
{
    public static TheoryData<string> AllFiles() => new(Files(""));

    public static TheoryData<string> FastFiles() => new(Files("fast"));

    [Theory]
    [MemberData(nameof(AllFiles))]
    public void Every_scenario_file_passes_check(string relative)
    {
        var scenario = ScenarioLoader.LoadFile(Repo.Scenario(relative));
        Assert.False(string.IsNullOrWhiteSpace(scenario.Description), $"{relative} has no description");
    }

    /// <summary>
    /// What ScenarioWriter prints (a shrunk chaos case, a replay file) parses back to the same timeline. Pins a
    /// writer bug: <c>abort_after</c> was never written, so a shrunk case with an aborted upload replayed as a
    /// complete one.
    /// </summary>
    [Theory]
    [MemberData(nameof(AllFiles))]
    public void Every_scenario_file_survives_writing_and_reading_back(string relative)
    {
        var scenario = ScenarioLoader.LoadFile(Repo.Scenario(relative));
        var again = ScenarioLoader.Parse(ScenarioWriter.Write(scenario), relative);
        Assert.Equal(scenario.Steps.Select(Facts), again.Steps.Select(Facts));

        static string Facts(ScenarioStep s) => string.Join(" | ", s.Describe(), s.At, s.For, s.Size, s.Content,
            s.AbortAfter, s.Durability, s.Expect, s.ExpectCount, s.Factor, string.Join(",", s.ClusterKey ?? []),
            string.Join(",", s.Nodes), s.Timeout);
    }

    [Theory]
    [MemberData(nameof(FastFiles))]
    public void Every_fast_scenario_passes(string relative)
    {
        var scenario = ScenarioLoader.LoadFile(Repo.Scenario(relative));
        Assert.True(ProtocolRegistry.Find(scenario.Cluster.Protocol) is not null,
            $"{relative} uses protocol {scenario.Cluster.Protocol}, which is not registered");
        var result = ScenarioRunner.Run(scenario, scenario.Seed);
        Assert.True(result.Passed, string.Join("\n", result.Expectations.Select(e
            => $"{e.Status} {e.Name}: {e.Detail}")));
    }

    [Fact]
    public void The_library_covers_the_issue()
    {
        var all = Files("").ToList();
        Assert.True(all.Count >= 13, $"only {all.Count} scenario files");
        Assert.Contains("quickstart.yaml", all);
        Assert.Contains("fast/determinism.yaml", all);
        Assert.Contains(all, f => f.StartsWith("slow/", StringComparison.Ordinal));
    }

    private static IEnumerable<string> Files(string under)
    {
        var root = Path.Combine(Repo.Root, "scenarios");
        return Directory.EnumerateFiles(Path.Combine(root, under), "*.yaml", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(root, f).Replace('\\', '/')).Order(StringComparer.Ordinal);
    }
}
