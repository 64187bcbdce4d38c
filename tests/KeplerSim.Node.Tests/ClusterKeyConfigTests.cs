using System.Net;
using KeplerSim.Node.Hosting;
using KeplerSim.Node.Tests.Support;

namespace KeplerSim.Node.Tests;

/// <summary>CLUSTER_KEY and INSECURE: a bad key is a startup error naming the variable; off loopback, one is
/// needed.</summary>
[Trait("Category", "Real")]
public sealed class ClusterKeyConfigTests
{
    private static readonly string KeyA = Convert.ToBase64String(Enumerable.Repeat((byte)7, 32).ToArray());
    private static readonly string KeyB = Convert.ToBase64String(Enumerable.Repeat((byte)8, 32).ToArray());

    private static Dictionary<string, string?> With(params (string, string)[] settings)
    {
        var environment = new Dictionary<string, string?> { ["NODE_ID"] = "a" };
        foreach (var (key, value) in settings)
        {
            environment[key] = value;
        }

        return environment;
    }

    [Fact]
    public void A_keyring_reaches_core_primary_first()
    {
        var config = NodeConfig.Load(With(("CLUSTER_KEY", $"{KeyB}, {KeyA}")));
        var key = NodeHost.BuildOptions(config, new([])).ClusterKey!;
        Assert.Equal(2, key.Keys.Count);
        Assert.Equal(NodeConfig.Load(With(("CLUSTER_KEY", KeyB))).ClusterKey!.Primary.Id, key.Primary.Id);
        Assert.Null(NodeConfig.Load(With()).ClusterKey);
    }

    [Theory]
    [InlineData("not base64!", "key 1 of 1 is not base64")]
    [InlineData("AAAA", "key 1 of 1 is 3 bytes; a cluster key is 32 bytes")]
    [InlineData("KEY,", "key 2 of 2 is empty")]
    public void A_bad_key_names_the_variable_and_the_problem_without_echoing_it(string value, string problem)
    {
        value = value.Replace("KEY", KeyA, StringComparison.Ordinal);
        var error = Assert.Throws<ConfigException>(() => NodeConfig.Load(With(("CLUSTER_KEY", value))));
        Assert.Equal("CLUSTER_KEY", error.Variable);
        Assert.Contains(problem, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(KeyA, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Off_loopback_a_node_needs_a_key_or_insecure()
    {
        var error = Assert.Throws<ConfigException>(() => NodeConfig.Load(With(("BIND_ADDRESS", "0.0.0.0"))));
        Assert.Equal("CLUSTER_KEY", error.Variable);
        Assert.Contains("BIND_ADDRESS 0.0.0.0 is not a loopback address", error.Message, StringComparison.Ordinal);
        Assert.Contains("INSECURE=1", error.Message, StringComparison.Ordinal);
        Assert.Equal(IPAddress.Any, NodeConfig.Load(With(("BIND_ADDRESS", "0.0.0.0"), ("INSECURE", "1"))).BindAddress);
        Assert.NotNull(NodeConfig.Load(With(("BIND_ADDRESS", "0.0.0.0"), ("CLUSTER_KEY", KeyA))).ClusterKey);
        Assert.Null(NodeConfig.Load(With(("BIND_ADDRESS", "::1"))).ClusterKey); // loopback: no key needed
        Assert.Equal("INSECURE", Assert.Throws<ConfigException>(() =>
            NodeConfig.Load(With(("INSECURE", "yes")))).Variable);
    }

    [Fact]
    public async Task The_process_refuses_to_start_off_loopback_without_a_key_and_keygen_prints_a_key()
    {
        using var serve = Nodes.StartProcess(With(("BIND_ADDRESS", "0.0.0.0")), "serve");
        var stderr = serve.StandardError.ReadToEndAsync();
        var stdout = serve.StandardOutput.ReadToEndAsync();
        Assert.True(serve.WaitForExit(TimeSpan.FromSeconds(60)), "serve to exit");
        Assert.NotEqual(0, serve.ExitCode);
        Assert.Contains("CLUSTER_KEY: is not set", await stderr + await stdout, StringComparison.Ordinal);

        using var keygen = Nodes.StartProcess(new Dictionary<string, string?>(), "keygen");
        var key = (await keygen.StandardOutput.ReadToEndAsync()).Trim();
        Assert.True(keygen.WaitForExit(TimeSpan.FromSeconds(60)), "keygen to exit");
        Assert.Equal(0, keygen.ExitCode);
        Assert.Equal(32, Convert.FromBase64String(key).Length);
        Assert.Single(NodeConfig.Load(With(("CLUSTER_KEY", key))).ClusterKey!.Keys);
    }
}
