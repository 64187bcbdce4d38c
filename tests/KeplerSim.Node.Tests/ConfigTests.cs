using KeplerSim.Core.Node;
using KeplerSim.Node.Hosting;
using KeplerSim.Node.Tests.Support;

namespace KeplerSim.Node.Tests;

[Trait("Category", "Real")]
public sealed class ConfigTests
{
    private static Dictionary<string, string?> Valid() => new() { ["NODE_ID"] = "a" };

    [Fact]
    public void Defaults_follow_the_seed()
    {
        var config = NodeConfig.Load(Valid());
        Assert.Equal((3000, 4000, 5000), (config.HttpPort, config.GossipPort, config.TransferPort));
        Assert.Equal((3, 4, 50), (config.ReplicationFactor, config.ChunkSizeMb, config.RebalanceBandwidthMbps));
        Assert.Equal(Path.GetFullPath("./data/a"), config.DataDir);
        Assert.Equal("127.0.0.1", config.BindAddress.ToString());
        Assert.Empty(config.Seeds);
        Assert.Empty(config.Peers);
    }

    [Fact]
    public void Swim_probe_interval_and_scrub_rate_reach_core()
    {
        var defaults = NodeHost.BuildOptions(NodeConfig.Load(Valid()), new([]));
        Assert.Equal(1_000_000, defaults.Swim!.ProbeIntervalMicroseconds);
        Assert.Equal(500_000, defaults.Swim.ProbeTimeoutMicroseconds);
        Assert.Equal(20, defaults.ScrubChunksPerSecond);
        Assert.Equal(16_000_000, defaults.ScrubBytesPerSecond);
        Assert.Equal(24L * 3_600_000_000, defaults.ScrubPassMicroseconds);
        Assert.Equal(KeplerOptions.UploadChunksInFlightDefault, defaults.UploadChunksInFlight);
        Assert.Equal(KeplerOptions.ServedConnectionsMaxDefault, defaults.ServedConnectionsMax);
        Assert.Equal(KeplerOptions.ServedConnectionsPerPeerMaxDefault, defaults.ServedConnectionsPerPeerMax);

        var environment = Valid();
        environment["SWIM_PROBE_INTERVAL_MS"] = "200";
        environment["SCRUB_CHUNKS_PER_SECOND"] = "0";
        environment["SCRUB_PASS_HOURS"] = "0";
        environment["UPLOAD_CHUNKS_IN_FLIGHT"] = "16";
        environment["TRANSFER_CONNECTIONS_MAX"] = "100";
        environment["TRANSFER_CONNECTIONS_PER_PEER_MAX"] = "100";
        var options = NodeHost.BuildOptions(NodeConfig.Load(environment), new([]));
        Assert.Equal((100, 100), (options.ServedConnectionsMax, options.ServedConnectionsPerPeerMax));
        Assert.Equal(200_000, options.Swim!.ProbeIntervalMicroseconds);
        Assert.Equal(100_000, options.Swim.ProbeTimeoutMicroseconds);
        Assert.Equal(0, options.ScrubChunksPerSecond);
        Assert.Equal(0, options.ScrubPassMicroseconds);
        Assert.Equal(16, options.UploadChunksInFlight);
        Assert.Equal(30_000_000, options.WriteTimeoutMicroseconds);
        options.Validate();

        environment["SWIM_PROBE_INTERVAL_MS"] = NodeConfig.SwimProbeIntervalMsMin.ToString(
            System.Globalization.CultureInfo.InvariantCulture);
        NodeHost.BuildOptions(NodeConfig.Load(environment), new([])).Swim!.Validate();
    }

    [Theory]
    [InlineData(null, 3600)]
    [InlineData("90", 90)]
    [InlineData("90s", 90)]
    [InlineData("15m", 900)]
    [InlineData("2h", 7200)]
    public void Gc_grace_takes_seconds_minutes_or_hours_and_reaches_core(string? text, int seconds)
    {
        var environment = Valid();
        environment["GC_GRACE"] = text;
        var config = NodeConfig.Load(environment);
        Assert.Equal(seconds, config.GcGraceSeconds);
        var options = NodeHost.BuildOptions(config, new([]));
        Assert.Equal(seconds * 1_000_000L, options.GcGraceMicroseconds);
        Assert.Equal(Math.Min(30_000_000L, seconds * 500_000L), options.GcIntervalMicroseconds);
        options.Validate();
    }

    [Theory]
    [InlineData(null, 60)]
    [InlineData("5", 5)]
    [InlineData("2m", 120)]
    public void Orphan_grace_takes_seconds_or_minutes_and_reaches_core(string? text, int seconds)
    {
        var environment = Valid();
        environment["ORPHAN_GRACE"] = text;
        var config = NodeConfig.Load(environment);
        Assert.Equal(seconds, config.OrphanGraceSeconds);
        Assert.Equal(seconds * 1_000_000L, NodeHost.BuildOptions(config, new([])).OrphanGraceMicroseconds);
    }

    [Fact]
    public void More_than_the_most_peers_is_refused()
    {
        var environment = Valid();
        environment["PEERS"] = string.Join(",", Enumerable.Range(1, NodeConfig.PeersMax + 1)
            .Select(i => $"p{i}@127.0.0.1:{10_000 + i}:{20_000 + i}"));
        var error = Assert.Throws<ConfigException>(() => NodeConfig.Load(environment));
        Assert.Equal("PEERS", error.Variable);
        Assert.Contains($"at most {NodeConfig.PeersMax}", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_data_dir_that_is_a_file_is_refused()
    {
        using var dir = new TempDir();
        var file = dir.Sub("not-a-directory");
        File.WriteAllText(file, "x");
        var environment = Valid();
        environment["DATA_DIR"] = file;
        var error = Assert.Throws<ConfigException>(() => NodeConfig.Load(environment));
        Assert.Equal("DATA_DIR", error.Variable);
        Assert.Contains("is a file", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Flags_override_the_environment()
    {
        var environment = Valid();
        environment["HTTP_PORT"] = "3001";
        var config = NodeConfig.Load(environment, new Dictionary<string, string?> { ["HTTP_PORT"] = "3002" });
        Assert.Equal(3002, config.HttpPort);
    }

    [Theory]
    [InlineData("NODE_ID", null)]
    [InlineData("NODE_ID", "has space")]
    [InlineData("HTTP_PORT", "abc")]
    [InlineData("HTTP_PORT", "70000")]
    [InlineData("GOSSIP_PORT", "-1")]
    [InlineData("TRANSFER_PORT", "3000")]
    [InlineData("SEEDS", "127.0.0.1")]
    [InlineData("SEEDS", "127.0.0.1:4001,host:0")]
    [InlineData("REPLICATION_FACTOR", "0")]
    [InlineData("REPLICATION_FACTOR", "three")]
    [InlineData("CHUNK_SIZE_MB", "65")]
    [InlineData("REBALANCE_BANDWIDTH_MBPS", "0")]
    [InlineData("BIND_ADDRESS", "not-an-ip")]
    [InlineData("PEERS", "b@127.0.0.1:4002")]
    [InlineData("PEERS", "b@127.0.0.1:4002:5002,b@127.0.0.1:4003:5003")]
    [InlineData("MAX_UPLOAD_MB", "-3")]
    [InlineData("MAX_DISK_MB", "lots")]
    [InlineData("LOG_FORMAT", "xml")]
    [InlineData("LOG_LEVEL", "loud")]
    [InlineData("SWIM_PROBE_INTERVAL_MS", "10")]
    [InlineData("SWIM_PROBE_INTERVAL_MS", "soon")]
    [InlineData("SCRUB_CHUNKS_PER_SECOND", "-1")]
    [InlineData("WRITE_TIMEOUT_MS", "0")]
    [InlineData("WRITE_TIMEOUT_MS", "600001")]
    [InlineData("DATA_DIR", "nul\0in/path")]
    [InlineData("SCRUB_CHUNKS_PER_SECOND", "100001")]
    [InlineData("UPLOAD_CHUNKS_IN_FLIGHT", "0")]
    [InlineData("UPLOAD_CHUNKS_IN_FLIGHT", "17")]
    [InlineData("SCRUB_BANDWIDTH_MBPS", "0")]
    [InlineData("SCRUB_PASS_HOURS", "-1")]
    [InlineData("SCRUB_PASS_HOURS", "8761")]
    [InlineData("UPLOAD_BUFFER_MB", "0")]
    [InlineData("UPLOAD_BUFFER_MB", "2")]      // less than one chunk (CHUNK_SIZE_MB 4)
    [InlineData("ORPHAN_GRACE", "soon")]
    [InlineData("ORPHAN_GRACE", "0")]
    [InlineData("ORPHAN_GRACE", "2h")]
    [InlineData("GC_GRACE", "soon")]
    [InlineData("GC_GRACE", "0")]
    [InlineData("GC_GRACE", "-5m")]
    [InlineData("GC_GRACE", "31d")]
    [InlineData("GC_GRACE", "721h")]
    [InlineData("GC_GRACE", "50")]             // not above WRITE_TIMEOUT_MS (30 s) + 20 s
    [InlineData("TRANSFER_CONNECTIONS_MAX", "0")]
    [InlineData("TRANSFER_CONNECTIONS_MAX", "1000001")]
    [InlineData("TRANSFER_CONNECTIONS_PER_PEER_MAX", "0")]
    [InlineData("TRANSFER_CONNECTIONS_PER_PEER_MAX", "4097")] // more than TRANSFER_CONNECTIONS_MAX (4096)
    public void Every_bad_value_names_its_variable(string variable, string? value)
    {
        var environment = Valid();
        environment[variable] = value;
        var error = Assert.Throws<ConfigException>(() => NodeConfig.Load(environment));
        Assert.Equal(variable, error.Variable);
        Assert.StartsWith(variable + ":", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Peers_build_a_static_cluster_with_rf_capped_by_members()
    {
        var environment = Valid();
        environment["PEERS"] = "a@127.0.0.1:4001:5001, b@127.0.0.1:4002:5002";
        var config = NodeConfig.Load(environment);
        Assert.Single(config.Peers);
        var cluster = NodeHost.BuildCluster(config, new("127.0.0.1", 4001), new("127.0.0.1", 5001));
        Assert.Equal(["a", "b"], cluster.Ids.Select(i => i.Value));
        Assert.Equal(2, NodeHost.BuildOptions(config, cluster).ReplicationFactor);
    }

    [Fact]
    public async Task The_process_exits_2_naming_the_variable()
    {
        using var process = Nodes.StartProcess(new Dictionary<string, string?> { ["HTTP_PORT"] = "3000" }, "serve");
        var stderr = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.Equal(2, process.ExitCode);
        Assert.Contains("NODE_ID", stderr, StringComparison.Ordinal);

        using var bad = Nodes.StartProcess(new Dictionary<string, string?> { ["NODE_ID"] = "x" }, "serve",
            "--http-port", "http");
        var badError = await bad.StandardError.ReadToEndAsync();
        await bad.WaitForExitAsync();
        Assert.Equal(2, bad.ExitCode);
        Assert.Contains("HTTP_PORT", badError, StringComparison.Ordinal);
        Assert.Contains("--http-port", badError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Help_lists_every_setting()
    {
        using var process = Nodes.StartProcess(new Dictionary<string, string?>(), "serve", "--help");
        var stdout = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.Equal(0, process.ExitCode);
        foreach (var flag in new[] { "--node-id", "--http-port", "--gossip-port", "--transfer-port", "--seeds",
                     "--peers", "--replication-factor", "--chunk-size-mb", "--rebalance-bandwidth-mbps", "--data-dir",
                     "--bind-address", "--max-upload-mb", "--max-disk-mb", "--log-format", "--log-level",
                     "--swim-probe-interval-ms", "--scrub-chunks-per-second", "--write-timeout-ms" })
        {
            Assert.Contains(flag, stdout, StringComparison.Ordinal);
        }
    }
}
