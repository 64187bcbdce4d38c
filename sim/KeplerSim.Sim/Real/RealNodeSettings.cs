using System.Globalization;
using KeplerSim.Core.Runtime;
using KeplerSim.Core.Storage;
using KeplerSim.Sim.KeplerFs;
using KeplerSim.Sim.Scenarios;

namespace KeplerSim.Sim.Real;

/// <summary>The run's keys, derived from its seed as the simulator derives them.</summary>
internal static class RealKeys
{
    /// <summary>The at-rest key (the simulator's derivation, so both modes seal under the same key).</summary>
    public static AtRestKey AtRestKey(ulong seed) => new(AtRestKeyBytes(seed));

    /// <summary>The at-rest key's 32 bytes.</summary>
    public static byte[] AtRestKeyBytes(ulong seed)
    {
        var bytes = new byte[AtRest.KeySizeBytes];
        new DeterministicRandom(DeterministicRandom.Derive(seed, "at-rest-key")).NextBytes(bytes);
        return bytes;
    }

    private static class AtRest
    {
        public const int KeySizeBytes = Core.Storage.AtRestKey.KeySizeBytes;
    }
}

/// <summary>
/// A scenario's cluster section as a real node's environment, and the knobs a real node cannot take (each a
/// difference the report lists).
/// </summary>
internal sealed class RealNodeSettings
{
    private const long MebibyteBytes = 1024 * 1024;
    private readonly Scenario _scenario;
    private readonly Dictionary<string, string?> _common = new(StringComparer.Ordinal);

    public RealNodeSettings(Scenario scenario, ulong seed, bool namespaces)
    {
        _scenario = scenario;
        var cluster = scenario.Cluster;
        _common["REPLICATION_FACTOR"] = Text(cluster.ReplicationFactor);
        var chunkMb = Math.Max(1, (cluster.ChunkSize.Bytes + MebibyteBytes - 1) / MebibyteBytes);
        _common["CHUNK_SIZE_MB"] = Text(chunkMb);
        _common["KEPLER_TEST_OPTIONS"] = TestOptions(cluster.ToKeplerOptions());

        if (cluster.Swim.ProbeInterval is { } probe)
        {
            _common["SWIM_PROBE_INTERVAL_MS"] = Text(probe.Microseconds / 1000);
        }

        var k = cluster.Keplerfs;
        if (k.WriteTimeout is { } write)
        {
            _common["WRITE_TIMEOUT_MS"] = Text(write.Microseconds / 1000);
        }

        if (k.ScrubChunksPerSecond is { } scrub)
        {
            _common["SCRUB_CHUNKS_PER_SECOND"] = Text(scrub);
        }

        if (cluster.ClusterKey)
        {
            _common["CLUSTER_KEY"] = ClusterKey(seed, [SimClusterKeys.DefaultKeyName]);
        }
        else if (namespaces)
        {
            _common["INSECURE"] = "1"; // A non-loopback address without a cluster key must be asked for.
        }

        if (cluster.EncryptionAtRest)
        {
            _common["ENCRYPTION_KEY"] = Convert.ToBase64String(RealKeys.AtRestKeyBytes(seed));
        }

        _common["LOG_LEVEL"] = "warning";
        _common["LOG_FORMAT"] = "json";
        NoteUnsettable();
    }

    /// <summary>CLUSTER_KEY for the named keys (primary first): the simulator's secrets of the run's seed.</summary>
    public static string ClusterKey(ulong seed, IEnumerable<string> names)
    {
        var keys = new SimClusterKeys(seed, true);
        return string.Join(",", names.Select(n => Convert.ToBase64String(keys.Secret(n))));
    }

    /// <summary>Knobs of the file a real node cannot take, each with what the node runs instead.</summary>
    public List<string> Differences { get; } = [];

    private void NoteUnsettable()
    {
        var swim = _scenario.Cluster.Swim;
        var unsettable = new (string Name, object? Value)[]
        {
            ("swim.probe_timeout", swim.ProbeTimeout),
            ("swim.indirect_checks", swim.IndirectChecks), ("swim.suspicion_multiplier", swim.SuspicionMultiplier),
            ("swim.gossip_interval", swim.GossipInterval), ("swim.push_pull_interval", swim.PushPullInterval),
            ("swim.join_retry_interval", swim.JoinRetryInterval),
        };
        foreach (var (name, value) in unsettable.Where(u => u.Value is not null))
        {
            Differences.Add($"{name} {value}: a real node has no setting for it; it runs its default");
        }

        if (_scenario.Chaos.Buggify > 0)
        {
            Differences.Add("chaos.buggify: a real node never buggifies");
        }
    }

    /// <summary>
    /// KEPLER_TEST_OPTIONS (the node's test-only override, <c>NodeConfig.Test.cs</c>): every integer member of the
    /// scenario's node options that differs from core's default, so a real node runs the file's
    /// <c>cluster.keplerfs</c> knobs and chunk size as a simulated one does. The replication factor goes by
    /// REPLICATION_FACTOR; SWIM timings are not integer members and only the probe interval has a variable.
    /// </summary>
    private static string TestOptions(Core.Node.KeplerOptions options)
    {
        var defaults = new Core.Node.KeplerOptions();
        return string.Join(",", typeof(Core.Node.KeplerOptions).GetProperties()
            .Where(p => p.CanWrite && (p.PropertyType == typeof(int) || p.PropertyType == typeof(long))
                && p.Name != nameof(Core.Node.KeplerOptions.ReplicationFactor))
            .Where(p => !Equals(p.GetValue(options), p.GetValue(defaults)))
            .OrderBy(p => p.Name, StringComparer.Ordinal)
            .Select(p => string.Create(CultureInfo.InvariantCulture, $"{p.Name}={p.GetValue(options)}")));
    }

    /// <summary>The environment of the node <paramref name="self"/> among <paramref name="all"/>.</summary>
    public Dictionary<string, string?> Environment(RealNodeSpec self, IReadOnlyList<RealNodeSpec> all)
    {
        var env = new Dictionary<string, string?>(_common, StringComparer.Ordinal)
        {
            ["NODE_ID"] = self.Name,
            ["HTTP_PORT"] = Text(self.HttpPort),
            ["GOSSIP_PORT"] = Text(self.GossipPort),
            ["TRANSFER_PORT"] = Text(self.TransferPort),
            ["DATA_DIR"] = self.DataDir,
            ["BIND_ADDRESS"] = self.Address,
        };
        if (_scenario.Cluster.Membership == MembershipMode.Static)
        {
            env["PEERS"] = string.Join(",", all.Where(s => s.Name != self.Name).Select(s => s.PeerEntry));
        }
        else
        {
            var seeds = new SortedSet<string>(_scenario.Cluster.SeedNodes(), StringComparer.Ordinal);
            env["SEEDS"] = string.Join(",", all.Where(s => s.Name != self.Name && seeds.Contains(s.Name))
                .Select(s => s.SeedEntry));
        }

        return env;
    }

    private static string Text(long value) => value.ToString(CultureInfo.InvariantCulture);
}
