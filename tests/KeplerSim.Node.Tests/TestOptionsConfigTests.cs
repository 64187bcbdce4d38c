using KeplerSim.Node.Hosting;

namespace KeplerSim.Node.Tests;

/// <summary>KEPLER_TEST_OPTIONS: the test-only override real mode gives nodes a scenario's knobs with.</summary>
[Trait("Category", "Real")]
public sealed class TestOptionsConfigTests
{
    private static Dictionary<string, string?> With(string? value) =>
        new() { ["NODE_ID"] = "a", ["KEPLER_TEST_OPTIONS"] = value };

    [Fact]
    public void Test_options_reach_core_and_leave_the_rest_alone()
    {
        var plain = NodeHost.BuildOptions(NodeConfig.Load(With(null)), new([]));
        var options = NodeHost.BuildOptions(NodeConfig.Load(
            With("SurplusGraceMicroseconds=2000000, ChunkSizeBytes=65536,VirtualNodesPerNode=16")), new([]));

        Assert.Equal(2_000_000, options.SurplusGraceMicroseconds);
        Assert.Equal(65_536, options.ChunkSizeBytes);
        Assert.Equal(16, options.VirtualNodesPerNode);
        Assert.Equal(plain with
        {
            SurplusGraceMicroseconds = 2_000_000, ChunkSizeBytes = 65_536, VirtualNodesPerNode = 16,
            Swim = options.Swim, Seeds = options.Seeds,
        }, options with { Swim = options.Swim, Seeds = options.Seeds });
    }

    [Theory]
    [InlineData("NoSuchOption=1")]
    [InlineData("SurplusGraceMicroseconds=-1")]
    [InlineData("SurplusGraceMicroseconds")]
    [InlineData("SurplusGraceMicroseconds=ten")]
    [InlineData("Swim=1")]
    [InlineData("ReplicationConcurrency=99999999999")]
    public void A_bad_entry_stops_the_node_naming_it(string entry)
    {
        var e = Assert.Throws<ConfigException>(() => NodeConfig.Load(With(entry)));

        Assert.Equal("KEPLER_TEST_OPTIONS", e.Variable);
        Assert.Contains($"'{entry}'", e.Message, StringComparison.Ordinal);
    }
}
