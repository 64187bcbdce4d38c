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
