using System.Globalization;
using System.Net;
using KeplerSim.Core.Node;
using KeplerSim.Core.Runtime;
using KeplerSim.Core.Security;

namespace KeplerSim.Node.Hosting;

/// <summary>How the node writes its logs.</summary>
public enum LogFormat
{
    /// <summary>One JSON object per line: time, level, node, event id, message.</summary>
    Json,
    /// <summary>Readable single lines for development.</summary>
    Console,
}

/// <summary>
/// The node's settings, from environment variables (the KeplerFS seed's names and defaults) overridden by
/// command-line flags. <see cref="Load"/> checks every value and names the variable of the first bad one.
/// </summary>
public sealed partial record NodeConfig
{
    /// <summary>Largest chunk size in MB (CHUNK_SIZE_MB).</summary>
    public const int ChunkSizeMbMax = 64;

    /// <summary>Largest rebalance bandwidth cap in MB/s.</summary>
    public const int RebalanceBandwidthMbpsMax = 100_000;

    /// <summary>Longest node id.</summary>
    public const int NodeIdLengthMax = 64;

    /// <summary>Shortest SWIM probe interval in ms (SWIM_PROBE_INTERVAL_MS).</summary>
    public const int SwimProbeIntervalMsMin = 20;

    /// <summary>Longest SWIM probe interval in ms (SWIM_PROBE_INTERVAL_MS).</summary>
    public const int SwimProbeIntervalMsMax = 60_000;

    /// <summary>Highest scrub rate (SCRUB_CHUNKS_PER_SECOND).</summary>
    public const int ScrubChunksPerSecondMax = 100_000;

    /// <summary>Longest write timeout in ms (WRITE_TIMEOUT_MS): well inside core's garbage-collection grace.</summary>
    public const int WriteTimeoutMsMax = 600_000;

    /// <summary>Longest SCRUB_PASS_HOURS: a year.</summary>
    public const int ScrubPassHoursMax = 365 * 24;

    /// <summary>Longest GC_GRACE: 30 days.</summary>
    public const int GcGraceSecondsMax = 30 * 24 * 3600;

    /// <summary>What GC_GRACE must exceed beyond WRITE_TIMEOUT_MS: four anti-entropy rounds.</summary>
    public static readonly long GcGraceMarginMs = 4 * new KeplerOptions().AntiEntropyIntervalMicroseconds / 1000;

    /// <summary>Most static peers (PEERS).</summary>
    public const int PeersMax = 256;

    /// <summary>This node's id (NODE_ID, required).</summary>
    public required NodeId NodeId { get; init; }

    /// <summary>HTTP gateway port (HTTP_PORT, default 3000; 0 picks a free port).</summary>
    public int HttpPort { get; init; } = 3000;

    /// <summary>UDP gossip port (GOSSIP_PORT, default 4000).</summary>
    public int GossipPort { get; init; } = 4000;

    /// <summary>TCP transfer port (TRANSFER_PORT, default 5000).</summary>
    public int TransferPort { get; init; } = 5000;

    /// <summary>Gossip addresses SWIM joins through (SEEDS).</summary>
    public IReadOnlyList<NetAddress> Seeds { get; init; } = [];

    /// <summary>Static cluster members other than this node (PEERS); when set, SWIM is off.</summary>
    public IReadOnlyList<Member> Peers { get; init; } = [];

    /// <summary>Replication factor asked for (REPLICATION_FACTOR, default 3).</summary>
    public int ReplicationFactor { get; init; } = 3;

    /// <summary>Chunk size in MiB (CHUNK_SIZE_MB, default 4).</summary>
    public int ChunkSizeMb { get; init; } = 4;

    /// <summary>Rebalance bandwidth cap in MB/s (REBALANCE_BANDWIDTH_MBPS, default 50).</summary>
    public int RebalanceBandwidthMbps { get; init; } = 50;

    /// <summary>
    /// SWIM's failure-detection probe interval in ms (SWIM_PROBE_INTERVAL_MS, default 1000, memberlist's LAN
    /// value). The probe timeout is half of it and suspicion timeouts are multiples of it, so a smaller value
    /// declares a crashed node dead sooner (tests use 200) at the cost of more gossip traffic.
    /// </summary>
    public int SwimProbeIntervalMs { get; init; } = 1000;

    /// <summary>
    /// How long a write waits for its durability before it fails with 503 durability_not_met, its data still
    /// queued (WRITE_TIMEOUT_MS, default 30000).
    /// </summary>
    public int WriteTimeoutMs { get; init; } = 30_000;

    /// <summary>
    /// How long a stopping node (SIGTERM) hands its chunks to their new owners after announcing its leave
    /// (HANDOFF_TIMEOUT_MS, default 30000; 0 leaves without handing off, relying on the other replicas).
    /// </summary>
    public int HandoffTimeoutMs { get; init; } = 30_000;

    /// <summary>
    /// How long a version a later write superseded (or deleted) keeps its chunks, and how old an unreferenced chunk
    /// must be before garbage collection deletes it (GC_GRACE, default 1 h): after it, deletes free their space.
    /// It must outlast WRITE_TIMEOUT_MS plus four anti-entropy rounds, so a chunk whose manifest is still on its
    /// way is never taken for garbage.
    /// </summary>
    public int GcGraceSeconds { get; init; } = 3600;

    /// <summary>
    /// How long a chunk of an upload that failed or was cut off waits before the orphan collector deletes it
    /// (ORPHAN_GRACE, default 60 s), where every write that stored or counted the copy was abandoned
    /// (docs/PROTOCOL.md, "Orphan chunks"); at most GC_GRACE (unset and GC_GRACE shorter than 60 s: GC_GRACE).
    /// </summary>
    public int OrphanGraceSeconds { get; init; } = 60;

    /// <summary>
    /// Chunks of one upload being hashed, written and replicated at once (UPLOAD_CHUNKS_IN_FLIGHT, default 4):
    /// more overlaps more disk and network latency, at one chunk buffer of memory per chunk in flight.
    /// </summary>
    public int UploadChunksInFlight { get; init; } = KeplerOptions.UploadChunksInFlightDefault;

    /// <summary>
    /// The most MiB of chunk buffers all uploads on the node hold together (UPLOAD_BUFFER_MB, default 32, at least
    /// one chunk): more concurrent uploads share it rather than allocate more.
    /// </summary>
    public int UploadBufferMb { get; init; } = 32;

    /// <summary>
    /// Inbound transfer connections the node serves at once (TRANSFER_CONNECTIONS_MAX, default 4096): one more is
    /// closed unread and counted in <c>kepler_transfer_connections_refused_total{limit="node"}</c>.
    /// </summary>
    public int TransferConnectionsMax { get; init; } = KeplerOptions.ServedConnectionsMaxDefault;

    /// <summary>
    /// Inbound transfer connections the node serves at once from one IP address (TRANSFER_CONNECTIONS_PER_PEER_MAX,
    /// default 512, at most TRANSFER_CONNECTIONS_MAX): one more is closed unread and counted in
    /// <c>kepler_transfer_connections_refused_total{limit="peer"}</c>.
    /// </summary>
    public int TransferConnectionsPerPeerMax { get; init; } = KeplerOptions.ServedConnectionsPerPeerMaxDefault;

    /// <summary>Chunks scrub re-verifies per second (SCRUB_CHUNKS_PER_SECOND, default 20; 0 turns scrub off).</summary>
    public int ScrubChunksPerSecond { get; init; } = 20;

    /// <summary>Most bytes scrub reads per second, in MB/s (SCRUB_BANDWIDTH_MBPS, default 16).</summary>
    public int ScrubBandwidthMbps { get; init; } = 16;

    /// <summary>
    /// Scrub verifies the whole store at most once per this many hours (SCRUB_PASS_HOURS, default 24; 0: no such
    /// floor, only the rate caps pace it).
    /// </summary>
    public int ScrubPassHours { get; init; } = 24;

    /// <summary>Data directory (DATA_DIR, default ./data/NODE_ID).</summary>
    public required string DataDir { get; init; }

    /// <summary>Address every socket binds to (BIND_ADDRESS, default 127.0.0.1).</summary>
    public IPAddress BindAddress { get; init; } = IPAddress.Loopback;

    /// <summary>Largest upload in bytes (MAX_UPLOAD_MB, default 0 = no limit beyond core's); null = none.</summary>
    public long? MaxUploadBytes { get; init; }

    /// <summary>Disk quota in bytes for chunk files (MAX_DISK_MB, default 0 = none); null = none.</summary>
    public long? MaxDiskBytes { get; init; }

    /// <summary>Log format (LOG_FORMAT: json or console; default console on a terminal, else json).</summary>
    public LogFormat LogFormat { get; init; } = LogFormat.Json;

    /// <summary>Lowest log level written (LOG_LEVEL, default information).</summary>
    public Microsoft.Extensions.Logging.LogLevel LogLevel { get; init; } =
        Microsoft.Extensions.Logging.LogLevel.Information;

    /// <summary>The cluster key (CLUSTER_KEY; comma-separated = keyring, primary first); null = none.</summary>
    public ClusterKeyring? ClusterKey { get; init; }

    /// <summary>Run without a cluster key on a non-loopback address (INSECURE=1).</summary>
    public bool Insecure { get; init; }

    /// <summary>Chunk size in bytes.</summary>
    public int ChunkSizeBytes => ChunkSizeMb * 1024 * 1024;

    /// <summary>
    /// Reads the settings: a flag value wins over the environment variable of the same setting. Both are keyed
    /// by the variable name. Throws <see cref="ConfigException"/> naming the variable and what is allowed.
    /// </summary>
    public static NodeConfig Load(IReadOnlyDictionary<string, string?> environment,
        IReadOnlyDictionary<string, string?>? flags = null)
    {
        ArgumentNullException.ThrowIfNull(environment);
        var reader = new Reader(environment, flags ?? new Dictionary<string, string?>());
        var id = ParseNodeId(reader.Get("NODE_ID"));
        var config = new NodeConfig
        {
            NodeId = id,
            HttpPort = reader.Int("HTTP_PORT", 3000, 0, 65535, "a port 1..65535 (0 picks a free one)"),
            GossipPort = reader.Int("GOSSIP_PORT", 4000, 0, 65535, "a port 1..65535 (0 picks a free one)"),
            TransferPort = reader.Int("TRANSFER_PORT", 5000, 0, 65535, "a port 1..65535 (0 picks a free one)"),
            Seeds = ParseSeeds(reader.Get("SEEDS")),
            ReplicationFactor = reader.Int("REPLICATION_FACTOR", 3, 1, KeplerOptions.ReplicationFactorMax,
                $"an integer 1..{KeplerOptions.ReplicationFactorMax}"),
            ChunkSizeMb = reader.Int("CHUNK_SIZE_MB", 4, 1, ChunkSizeMbMax, $"an integer 1..{ChunkSizeMbMax}"),
            RebalanceBandwidthMbps = reader.Int("REBALANCE_BANDWIDTH_MBPS", 50, 1, RebalanceBandwidthMbpsMax,
                $"an integer 1..{RebalanceBandwidthMbpsMax}"),
            SwimProbeIntervalMs = reader.Int("SWIM_PROBE_INTERVAL_MS", 1000, SwimProbeIntervalMsMin,
                SwimProbeIntervalMsMax, $"an integer {SwimProbeIntervalMsMin}..{SwimProbeIntervalMsMax} (ms)"),
            ScrubChunksPerSecond = reader.Int("SCRUB_CHUNKS_PER_SECOND", 20, 0, ScrubChunksPerSecondMax,
                $"an integer 0..{ScrubChunksPerSecondMax} (0 turns scrub off)"),
            ScrubBandwidthMbps = reader.Int("SCRUB_BANDWIDTH_MBPS", 16, 1, RebalanceBandwidthMbpsMax,
                $"an integer 1..{RebalanceBandwidthMbpsMax} (MB/s)"),
            ScrubPassHours = reader.Int("SCRUB_PASS_HOURS", 24, 0, ScrubPassHoursMax,
                $"an integer 0..{ScrubPassHoursMax} (0: no pass floor)"),
            UploadChunksInFlight = reader.Int("UPLOAD_CHUNKS_IN_FLIGHT", KeplerOptions.UploadChunksInFlightDefault, 1,
                KeplerOptions.UploadChunksInFlightMax, $"an integer 1..{KeplerOptions.UploadChunksInFlightMax}"),
            UploadBufferMb = reader.Int("UPLOAD_BUFFER_MB", 32, 1, 65_536, "an integer 1..65536 (MiB)"),
            TransferConnectionsMax = reader.Int("TRANSFER_CONNECTIONS_MAX", KeplerOptions.ServedConnectionsMaxDefault,
                1, KeplerOptions.ServedConnectionsLimit, $"an integer 1..{KeplerOptions.ServedConnectionsLimit}"),
            TransferConnectionsPerPeerMax = reader.Int("TRANSFER_CONNECTIONS_PER_PEER_MAX",
                KeplerOptions.ServedConnectionsPerPeerMaxDefault, 1, KeplerOptions.ServedConnectionsLimit,
                $"an integer 1..{KeplerOptions.ServedConnectionsLimit}"),
            WriteTimeoutMs = reader.Int("WRITE_TIMEOUT_MS", 30_000, 1, WriteTimeoutMsMax,
                $"an integer 1..{WriteTimeoutMsMax} (ms)"),
            HandoffTimeoutMs = reader.Int("HANDOFF_TIMEOUT_MS", 30_000, 0, WriteTimeoutMsMax,
                $"an integer 0..{WriteTimeoutMsMax} (ms)"),
            GcGraceSeconds = reader.Seconds("GC_GRACE", 3600, GcGraceSecondsMax),
            // Unset, it is 60 s or GC_GRACE when that is shorter: a short GC_GRACE alone must not be refused.
            OrphanGraceSeconds = reader.Seconds("ORPHAN_GRACE",
                Math.Min(60, reader.Seconds("GC_GRACE", 3600, GcGraceSecondsMax)), GcGraceSecondsMax),
            DataDir = ParseDataDir(reader.Get("DATA_DIR"), id),
            BindAddress = ParseBindAddress(reader.Get("BIND_ADDRESS")),
            MaxUploadBytes = Megabytes(reader.Int("MAX_UPLOAD_MB", 0, 0, int.MaxValue,
                "an integer >= 0 (0 = no limit)")),
            MaxDiskBytes = Megabytes(reader.Int("MAX_DISK_MB", 0, 0, int.MaxValue, "an integer >= 0 (0 = no quota)")),
            LogFormat = ParseLogFormat(reader.Get("LOG_FORMAT")),
            LogLevel = ParseLogLevel(reader.Get("LOG_LEVEL")),
            ClusterKey = ParseClusterKey(reader.Get("CLUSTER_KEY")),
            Insecure = ParseInsecure(reader.Get("INSECURE")),
        };
        if (config.GcGraceSeconds * 1000L <= config.WriteTimeoutMs + GcGraceMarginMs)
        {
            throw new ConfigException("GC_GRACE", $"{config.GcGraceSeconds} s is too short: it must exceed " +
                $"WRITE_TIMEOUT_MS ({config.WriteTimeoutMs} ms) plus {GcGraceMarginMs / 1000} s (four anti-entropy " +
                "rounds), or a chunk whose manifest is still on its way could be collected");
        }

        if (config.OrphanGraceSeconds > config.GcGraceSeconds)
        {
            throw new ConfigException("ORPHAN_GRACE", $"{config.OrphanGraceSeconds} s is invalid: it must not " +
                $"exceed GC_GRACE ({config.GcGraceSeconds} s)");
        }

        if (config.UploadBufferMb < config.ChunkSizeMb)
        {
            throw new ConfigException("UPLOAD_BUFFER_MB", $"{config.UploadBufferMb} is invalid: it must hold at " +
                $"least one chunk (CHUNK_SIZE_MB {config.ChunkSizeMb})");
        }

        if (config.TransferConnectionsPerPeerMax > config.TransferConnectionsMax)
        {
            throw new ConfigException("TRANSFER_CONNECTIONS_PER_PEER_MAX", $"{config.TransferConnectionsPerPeerMax} " +
                $"is invalid: it must not exceed TRANSFER_CONNECTIONS_MAX ({config.TransferConnectionsMax})");
        }

        RequireKeyOffLoopback(config);
        if (config.HttpPort != 0 && config.HttpPort == config.TransferPort)
        {
            throw new ConfigException("TRANSFER_PORT", $"'{config.TransferPort}' is invalid: both TCP ports, it " +
                "must differ from HTTP_PORT");
        }

        var secured = WithSecurity(config with { Peers = ParsePeers(reader.Get("PEERS"), config) }, reader);
        return WithS3(secured, reader) with
        {
            TestOptions = ParseTestOptions(reader.Get("KEPLER_TEST_OPTIONS")),
            TestFaults = ParseTestFaults(reader.Get("KEPLER_TEST_FAULTS")),
        };
    }

    /// <summary>The process environment as a dictionary.</summary>
    public static IReadOnlyDictionary<string, string?> ProcessEnvironment() =>
        Environment.GetEnvironmentVariables().Cast<System.Collections.DictionaryEntry>()
            .ToDictionary(e => (string)e.Key, e => (string?)e.Value, StringComparer.Ordinal);

    private static long? Megabytes(int value) => value == 0 ? null : value * 1024L * 1024L;

    private sealed class Reader(IReadOnlyDictionary<string, string?> environment,
        IReadOnlyDictionary<string, string?> flags)
    {
        public string? Get(string variable)
        {
            var value = flags.GetValueOrDefault(variable) ?? environment.GetValueOrDefault(variable);
            return string.IsNullOrWhiteSpace(value) ? null : value.Trim();
        }

        /// <summary>A duration in whole seconds: <c>90</c>, <c>90s</c>, <c>15m</c> or <c>1h</c>.</summary>
        public int Seconds(string variable, int fallback, int max)
        {
            var text = Get(variable);
            if (text is null)
            {
                return fallback;
            }

            var (digits, unit) = text[^1] switch
            {
                's' => (text[..^1], 1),
                'm' => (text[..^1], 60),
                'h' => (text[..^1], 3600),
                _ => (text, 1),
            };
            if (!long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var value)
                || value < 1 || value > max / unit)
            {
                throw new ConfigException(variable, $"'{text}' is invalid: expected a duration of 1 s..{max} s " +
                    "such as 90, 90s, 15m or 1h");
            }

            return (int)(value * unit);
        }

        public int Int(string variable, int fallback, int min, int max, string allowed)
        {
            var text = Get(variable);
            if (text is null)
            {
                return fallback;
            }

            if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value)
                || value < min || value > max)
            {
                throw new ConfigException(variable, $"'{text}' is invalid: expected {allowed}");
            }

            return value;
        }
    }
}

/// <summary>A setting has a bad value; the message names the variable and what it allows.</summary>
public sealed class ConfigException(string variable, string problem) : Exception($"{variable}: {problem}")
{
    /// <summary>The environment variable (the flag is its lower-case, dashed form).</summary>
    public string Variable => variable;
}
