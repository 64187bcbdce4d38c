using System.Net;
using System.Security.Cryptography;
using KeplerSim.Core.Diagnostics;
using KeplerSim.Core.Node;
using KeplerSim.Core.Runtime;
using KeplerSim.Node.Http;
using KeplerSim.Node.Logging;
using KeplerSim.Node.Runtime;
using Microsoft.Extensions.Logging;

namespace KeplerSim.Node.Hosting;

/// <summary>
/// One running node: its loop, sockets, disk, metadata, the KeplerFS program and the HTTP gateway. Several can
/// run in one process (tests); each has its own loop thread.
/// </summary>
public sealed partial class NodeHost : IAsyncDisposable
{
    private readonly ILogger _log;
    private readonly UdpDatagramNetwork _datagrams;
    private readonly TcpStreamNetwork _streams;
    private readonly EventPublisher _events = new();
    private Gateway? _gateway;
    private S3.S3Server? _s3;

    private NodeHost(NodeConfig config, ILoggerFactory loggers)
    {
        Config = config;
        Loggers = loggers;
        _log = loggers.CreateLogger("KeplerSim.Node");
        Loop = new EventLoop(config.NodeId.Value);
        Loop.OnError = e => Fail(LoopTaskName, e);
        Directory.CreateDirectory(config.DataDir);
        _datagrams = new UdpDatagramNetwork(Loop, Transport, new IPEndPoint(config.BindAddress, config.GossipPort));
        _streams = new TcpStreamNetwork(Loop, Transport, new IPEndPoint(config.BindAddress, config.TransferPort));
        // Test faults (KEPLER_TEST_FAULTS) track disk usage under an unlimited quota the test endpoint can lower.
        Disk = new LocalDisk(Loop, config.DataDir, config.TestFaults is { } test
            ? test.DiskCapacityBytes ?? config.MaxDiskBytes ?? long.MaxValue
            : config.MaxDiskBytes);
        TestClock = config.TestFaults is { } faults ? new TestClock(faults.SkewMicroseconds, faults.DriftPpm) : null;
        var seed = BitConverter.ToUInt64(RandomNumberGenerator.GetBytes(sizeof(ulong)));
        var clock = new SystemClock(Loop, test: TestClock);
        Runtime = new NodeRuntime(config.NodeId, clock, new DeterministicRandom(seed), _datagrams, _streams, Disk, new SqliteMetadata(Path.Combine(config.DataDir, SqliteMetadata.FileName)), _events,
            NoBuggify.Instance)
        {
            PureWork = new ThreadPoolPureWork(Loop),
            AtRestKey = config.EncryptionKey,
            Supervisor = CreateSupervisor(),
        };
        Cluster = BuildCluster(config, _datagrams.LocalAddress, _streams.LocalAddress);
        Options = BuildOptions(config, Cluster);
        Node = new KeplerNode(Runtime, Options, Cluster);
    }

    /// <summary>The settings.</summary>
    public NodeConfig Config { get; }

    /// <summary>The loggers.</summary>
    public ILoggerFactory Loggers { get; }

    /// <summary>The node's single logical thread.</summary>
    public EventLoop Loop { get; }

    /// <summary>Socket counters.</summary>
    public TransportCounters Transport { get; } = new();

    /// <summary>The disk under the data directory.</summary>
    public LocalDisk Disk { get; }

    /// <summary>The test-only clock offset (KEPLER_TEST_FAULTS); null on a production node.</summary>
    public TestClock? TestClock { get; }

    /// <summary>What core is given.</summary>
    public NodeRuntime Runtime { get; }

    /// <summary>The member view the node started with.</summary>
    public ClusterView Cluster { get; }

    /// <summary>Core's settings.</summary>
    public KeplerOptions Options { get; }

    /// <summary>The KeplerFS program; touch it only on <see cref="Loop"/>.</summary>
    public KeplerNode Node { get; }

    /// <summary>The gateway's base address, such as http://127.0.0.1:3000.</summary>
    public Uri HttpAddress => _gateway?.Address ?? throw new InvalidOperationException("gateway not started");

    /// <summary>The S3 API's base address, or null when S3_KEYS is empty (the port is not opened).</summary>
    public Uri? S3Address => _s3?.Address;

    /// <summary>The transfer (TCP) address.</summary>
    public NetAddress TransferAddress => _streams.LocalAddress;

    /// <summary>The gossip (UDP) address.</summary>
    public NetAddress GossipAddress => _datagrams.LocalAddress;

    /// <summary>When the host started (for uptime).</summary>
    public DateTimeOffset StartedAt { get; } = DateTimeOffset.UtcNow;

    /// <summary>Starts a node: sockets bound, core started on its loop, gateway listening.</summary>
    public static async Task<NodeHost> StartAsync(NodeConfig config, ILoggerFactory loggers)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(loggers);
        var host = new NodeHost(config, loggers);
        try
        {
            await host.StartCoreAsync();
            host._gateway = await Gateway.StartAsync(host);
            host._s3 = await S3.S3Server.StartAsync(host);
            return host;
        }
        catch
        {
            await host.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// The member view the node starts with: this node plus PEERS. Without PEERS that is this node alone, and
    /// SWIM (inside <see cref="KeplerNode"/>) adds and removes members as they join and fail.
    /// </summary>
    public static ClusterView BuildCluster(NodeConfig config, NetAddress gossip, NetAddress transfer)
    {
        ArgumentNullException.ThrowIfNull(config);
        var self = new Member(config.NodeId, gossip, transfer);
        return new ClusterView(config.Peers.Append(self));
    }

    /// <summary>Core's settings from the node's: N is capped by the number of members.</summary>
    public static KeplerOptions BuildOptions(NodeConfig config, ClusterView cluster)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(cluster);
        // Without PEERS the member set is dynamic (SWIM, joining through SEEDS), so N is the configured one: the
        // ring places on as many nodes as exist until N have joined. PEERS pins a static member set instead, and
        // N is capped by its size.
        var dynamic = config.Peers.Count == 0;
        return ApplyTestOptions(config, new KeplerOptions
        {
            ReplicationFactor = dynamic
                ? config.ReplicationFactor
                : Math.Min(config.ReplicationFactor, cluster.Members.Count),
            ChunkSizeBytes = config.ChunkSizeBytes,
            RebalanceBandwidthBytesPerSecond = config.RebalanceBandwidthMbps * 1_000_000L,
            ScrubChunksPerSecond = config.ScrubChunksPerSecond,
            ScrubBytesPerSecond = config.ScrubBandwidthMbps * 1_000_000L,
            ScrubPassMicroseconds = config.ScrubPassHours * 3_600_000_000L,
            UploadChunksInFlight = config.UploadChunksInFlight,
            ServedConnectionsMax = config.TransferConnectionsMax,
            ServedConnectionsPerPeerMax = config.TransferConnectionsPerPeerMax,
            UploadBufferBytesMax = config.UploadBufferMb * 1024L * 1024L,
            WriteTimeoutMicroseconds = config.WriteTimeoutMs * 1000L,
            GcGraceMicroseconds = config.GcGraceSeconds * 1_000_000L,
            OrphanGraceMicroseconds = config.OrphanGraceSeconds * 1_000_000L,
            // A short grace is collected promptly: a run at least every half grace, at most every 30 s.
            GcIntervalMicroseconds = Math.Min(new KeplerOptions().GcIntervalMicroseconds,
                config.GcGraceSeconds * 500_000L),
            Swim = dynamic ? SwimOptionsOf(config) : null,
            Seeds = config.Seeds,
            ClusterKey = config.ClusterKey,
        });
    }

    private static KeplerOptions ApplyTestOptions(NodeConfig config, KeplerOptions options) =>
        NodeConfig.ApplyTestOptions(options, config.TestOptions);

    /// <summary>
    /// SWIM's settings: memberlist's LAN defaults with the probe interval from SWIM_PROBE_INTERVAL_MS; the probe
    /// timeout is half of it and never more than the default 500 ms.
    /// </summary>
    public static KeplerSim.Core.Membership.SwimOptions SwimOptionsOf(NodeConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var defaults = new KeplerSim.Core.Membership.SwimOptions();
        var intervalMicroseconds = config.SwimProbeIntervalMs * 1000L;
        var options = defaults with
        {
            ProbeIntervalMicroseconds = intervalMicroseconds,
            ProbeTimeoutMicroseconds = Math.Min(defaults.ProbeTimeoutMicroseconds, intervalMicroseconds / 2),
            JoinRetryIntervalMicroseconds = Math.Min(defaults.JoinRetryIntervalMicroseconds, intervalMicroseconds),
        };
        options.Validate();
        return options;
    }

    private async Task StartCoreAsync()
    {
        _log.Starting(Config.NodeId.Value, $"{Config.BindAddress}:{Config.HttpPort}", GossipAddress.ToString(),
            TransferAddress.ToString(), Config.DataDir);
        if (Options.Swim is null)
        {
            _log.StaticCluster(Cluster.Members.Count, string.Join(",", Cluster.Ids), Options.ReplicationFactor,
                "static (PEERS)");
        }
        else
        {
            _log.SwimCluster(Config.Seeds.Count == 0 ? "(none: first node)" : string.Join(",", Config.Seeds),
                Options.ReplicationFactor);
        }

        await Loop.InvokeAsync(() =>
        {
            _events.Stream.Subscribe(LogEvent);
            var started = Node.StartAsync();
            _ = Node.Ready.ContinueWith(t => ReportReady(t), TaskScheduler.Default);
            return Task.FromResult(started.IsFaulted);
        });
    }

    private void ReportReady(Task ready)
    {
        if (ready.IsFaulted)
        {
            _log.StartFailed(ready.Exception!.GetBaseException());
        }
        else
        {
            var recovery = Loop.InvokeAsync(() => Node.Recovery is { } r
                ? $"{r.Deferred} chunk files found (verified in the background), "
                    + $"{r.TmpFilesRemoved.Count} leftover tmp files removed"
                : "no recovery report");
            _log.Ready(recovery.GetAwaiter().GetResult());
        }
    }

    private void LogEvent(KeplerEvent e)
    {
        switch (e)
        {
            // A replication retry is information, not debug: a write that ends in 503 durability_not_met is
            // explained by the retries of its chunks (target, attempt, reason) in the node's log.
            // A target answering "busy" (it is receiving the chunk from someone else) is routine during joins:
            // about 70 lines per node at Information; debug.
            case ReplicationRetry { Reason: KeplerSim.Core.Protocol.StoreChunkReply.Busy }:
                _log.ProtocolEvent(e.Kind, e.ToString());
                break;
            case WriteAcknowledged or RingChanged or ChunkReadRepaired or ReplicationRetry:
                _log.ProtocolNotice(e.Kind, e.ToString());
                break;
            // A corrupt or missing copy is worth an operator's attention: a warning, with its status.
            case MalformedFrame or ChunkRejected or ScrubFound:
                _log.ProtocolWarning(e.Kind, e.ToString());
                break;
            // A connection refused or evicted at a cap is worth a warning, but a flood of them must not flood the
            // log: the 1st, 2nd, 4th, 8th, ... of the incarnation (its count says how many), the rest at debug.
            case TransferConnectionRefused { Refused: var refused } when (refused & (refused - 1)) == 0:
                _log.ProtocolWarning(e.Kind, e.ToString());
                break;
            case TransferConnectionEvicted { Evicted: var evicted } when (evicted & (evicted - 1)) == 0:
                _log.ProtocolWarning(e.Kind, e.ToString());
                break;
            default:
                _log.ProtocolEvent(e.Kind, e.ToString());
                break;
        }
    }

    /// <summary>
    /// Leaves the cluster gracefully (SIGTERM): stops serving HTTP, announces the leave through SWIM (peers mark
    /// the node left, not dead) and hands the chunks off for at most HANDOFF_TIMEOUT_MS. Dispose afterwards.
    /// </summary>
    public async Task<HandoffReport?> LeaveAsync()
    {
        if (!Node.Ready.IsCompletedSuccessfully)
        {
            return null; // Never joined: nothing to announce or hand off.
        }

        _log.Leaving(Config.HandoffTimeoutMs);
        await StopS3Async();
        if (_gateway is not null)
        {
            await _gateway.DisposeAsync();
            _gateway = null;
        }

        return await HandOffAsync(Config.HandoffTimeoutMs);
    }

    /// <summary>Announces the leave, hands the chunks off for at most <paramref name="timeoutMs"/>; logs it.</summary>
    private async Task<HandoffReport> HandOffAsync(long timeoutMs)
    {
        var report = await Loop.InvokeAsync(() => Node.LeaveAsync(timeoutMs * 1000L));
        _log.Left(report.LocalChunks, report.LiveMembers, report.QueueLeft);
        return report;
    }

    private async Task StopS3Async()
    {
        if (_s3 is not null)
        {
            await _s3.DisposeAsync();
            _s3 = null;
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        _stopping = true;
        _log.Stopping();
        await StopS3Async();
        if (_gateway is not null)
        {
            await _gateway.DisposeAsync();
        }

        _datagrams.Dispose();
        _streams.Dispose();
        try
        {
            await Loop.InvokeAsync(() =>
            {
                Runtime.Supervisor.Stop();
                Node.Dispose();
                _events.Dispose();
                return true;
            }).WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (TimeoutException)
        {
            // The loop is stuck; the process is going away anyway.
        }

        Loop.Dispose();
    }
}
