using System.CommandLine;
using System.Net.Sockets;
using KeplerSim.Node.Hosting;
using KeplerSim.Node.Logging;
using Microsoft.Extensions.Logging;

namespace KeplerSim.Node.Cli;

/// <summary><c>kepler-node serve</c>: runs a node until SIGINT or SIGTERM.</summary>
internal static class ServeCommand
{
    /// <summary>Exit code of a bad setting.</summary>
    public const int ConfigErrorExitCode = 2;

    /// <summary>
    /// Exit code of a node stopped by an unexpected failure (a background task or a loop work item threw what
    /// its code does not handle): its state is unknown, so it exits instead of running on.
    /// </summary>
    public const int FatalExitCode = 3;

    /// <summary>
    /// How long the process waits after SIGINT or SIGTERM for <c>serve</c> to end: the longest hand-off
    /// (<see cref="NodeConfig.WriteTimeoutMsMax"/>) plus the host's bounded disposal and a margin.
    /// </summary>
    public static readonly TimeSpan StopTimeout = TimeSpan.FromMilliseconds(NodeConfig.WriteTimeoutMsMax + 30_000);

    /// <summary>Every setting: its variable, flag and help (default in the help).</summary>
    public static readonly IReadOnlyList<(string Variable, string Help)> Settings =
    [
        ("NODE_ID", "Unique id of this node (required)"),
        ("HTTP_PORT", "HTTP gateway port [default: 3000]"),
        ("GOSSIP_PORT", "UDP gossip port [default: 4000]"),
        ("TRANSFER_PORT", "TCP chunk transfer port [default: 5000]"),
        ("SEEDS", "Comma-separated host:gossip_port of nodes to join through (SWIM membership)"),
        ("PEERS", "Static members instead of SWIM (tests, fixed clusters): id@ip:gossip_port:transfer_port,..."),
        ("REPLICATION_FACTOR", "Copies of each chunk, capped by the member count [default: 3]"),
        ("CHUNK_SIZE_MB", "Chunk size in MiB, 1..64 [default: 4]"),
        ("REBALANCE_BANDWIDTH_MBPS", "Repair/rebalance bandwidth cap in MB/s [default: 50]"),
        ("SWIM_PROBE_INTERVAL_MS", "SWIM failure-detection probe interval in ms, 20..60000; smaller finds a " +
            "crashed node sooner [default: 1000]"),
        ("SCRUB_CHUNKS_PER_SECOND", "Most chunks scrub re-verifies per second; 0 turns scrub off [default: 20]"),
        ("SCRUB_BANDWIDTH_MBPS", "Most bytes scrub reads per second, in MB/s [default: 16]"),
        ("SCRUB_PASS_HOURS", "Scrub verifies the whole store at most once per this many hours; 0 = only the " +
            "rate caps pace it [default: 24]"),
        ("UPLOAD_CHUNKS_IN_FLIGHT", "Chunks of one upload written and replicated at once, 1..16; each holds " +
            "one chunk of memory [default: 4]"),
        ("UPLOAD_BUFFER_MB", "MiB of chunk buffers all uploads hold together; more concurrent uploads share it " +
            "(fewer chunks in flight each, or wait) instead of allocating more [default: 32]"),
        ("TRANSFER_CONNECTIONS_MAX", "Inbound transfer connections served at once; one more is closed unread " +
            "and counted [default: 4096]"),
        ("TRANSFER_CONNECTIONS_PER_PEER_MAX", "Inbound transfer connections served at once from one IP address, " +
            "at most TRANSFER_CONNECTIONS_MAX [default: 512]"),
        ("WRITE_TIMEOUT_MS", "How long a write waits for its durability before 503 durability_not_met " +
            "[default: 30000]"),
        ("HANDOFF_TIMEOUT_MS", "On SIGTERM the node announces its leave, then hands its chunks to their new " +
            "owners for at most this long; 0 = no hand-off [default: 30000]"),
        ("GC_GRACE", "How long deleted and overwritten versions keep their chunks (and how old an unreferenced " +
            "chunk must be) before garbage collection frees the space: 90, 90s, 15m, 1h; more than " +
            "WRITE_TIMEOUT_MS + 20 s [default: 1h]"),
        ("ORPHAN_GRACE", "How long chunks of an upload that failed or was cut off stay before they are deleted on " +
            "every node (unless another upload or a file uses them): 30, 30s, 2m; at most GC_GRACE [default: 60s]"),
        ("DATA_DIR", "Data directory [default: ./data/<NODE_ID>]"),
        ("BIND_ADDRESS", "IP address every socket binds to [default: 127.0.0.1]"),
        ("CLUSTER_KEY", "Base64 32-byte key(s) sealing gossip and transfer, comma-separated, primary first " +
            "(`kepler-node keygen`); required off loopback unless INSECURE=1 (prefer the env var: flags are visible)"),
        ("INSECURE", "1 lets a node without CLUSTER_KEY bind to a non-loopback address [default: 0]"),
        ("MAX_UPLOAD_MB", "Largest upload in MiB; 0 = no limit [default: 0]"),
        ("MAX_DISK_MB", "Quota for chunk files in MiB (disk full beyond it); 0 = none [default: 0]"),
        ("API_TOKENS", "HTTP API tokens: name:secret:role,... (role read, write or admin) or @FILE with one per " +
            "line; unset = the API is open [default: unset]"),
        ("METRICS_AUTH", "With API_TOKENS: read (a token is needed for /metrics) or open [default: read]"),
        ("TLS_CERT", "PEM certificate of the HTTP gateway (with TLS_KEY): the API speaks https"),
        ("TLS_KEY", "PEM private key of TLS_CERT"),
        ("ENCRYPTION_KEY", "Encrypt chunk files at rest: base64 of 32 bytes (openssl rand -base64 32) or @FILE " +
            "holding it; a store encrypted under another key refuses to start"),
        ("LOG_FORMAT", "json or console [default: console on a terminal, else json]"),
        ("LOG_LEVEL", "trace, debug, information, warning, error or none [default: information]"),
    ];

    public static Command Create()
    {
        var options = Settings.ToDictionary(s => s.Variable, s => new Option<string?>(FlagOf(s.Variable))
        {
            Description = $"{s.Help} (env {s.Variable})",
            HelpName = "value",
        });
        var command = new Command("serve", "Run a KeplerFS node; every flag overrides its environment variable");
        foreach (var option in options.Values)
        {
            command.Options.Add(option);
        }

        command.SetAction(async (parse, cancel) =>
        {
            var flags = options.ToDictionary(o => o.Key, o => parse.GetValue(o.Value));
            return await RunAsync(flags, cancel);
        });
        return command;
    }

    /// <summary>The flag of a variable: HTTP_PORT → --http-port.</summary>
    public static string FlagOf(string variable) => "--" + variable.ToLowerInvariant().Replace('_', '-');

    private static async Task<int> RunAsync(Dictionary<string, string?> flags, CancellationToken cancel)
    {
        NodeConfig config;
        try
        {
            config = NodeConfig.Load(NodeConfig.ProcessEnvironment(), flags);
        }
        catch (ConfigException e)
        {
            await Console.Error.WriteLineAsync(
                $"kepler-node: invalid setting {e.Message} (flag {FlagOf(e.Variable)}); " +
                "see 'kepler-node serve --help'");
            return ConfigErrorExitCode;
        }

        using var loggers = LoggerFactory.Create(b =>
            b.AddKeplerConsole(config.LogFormat, config.LogLevel, config.NodeId.Value));
        NodeHost host;
        try
        {
            host = await NodeHost.StartAsync(config, loggers);
        }
        catch (Exception e) when (e is SocketException or IOException or UnauthorizedAccessException)
        {
            await Console.Error.WriteLineAsync($"kepler-node: cannot start: {e.Message}");
            return 1;
        }

        await using (host)
        {
            return await RunUntilStoppedAsync(host, Console.Error, cancel);
        }
    }

    /// <summary>
    /// Runs a started node until SIGINT or SIGTERM (0), a failed start (1) or an unexpected failure
    /// (<see cref="FatalExitCode"/>, said on <paramref name="error"/>); returns the exit code.
    /// </summary>
    internal static async Task<int> RunUntilStoppedAsync(NodeHost host, TextWriter error, CancellationToken cancel)
    {
        // Completes (without throwing) on SIGINT or SIGTERM: an orderly stop.
        var stop = Task.Delay(Timeout.Infinite, cancel).ContinueWith(_ => { }, TaskScheduler.Default);
        var ready = host.Node.Ready.ContinueWith(_ => { }, TaskScheduler.Default);
        if (await Task.WhenAny(ready, host.Fatal, stop) == ready)
        {
            if (host.Node.Ready.IsFaulted)
            {
                await error.WriteLineAsync("kepler-node: cannot start: " +
                    host.Node.Ready.Exception!.GetBaseException().Message);
                return 1;
            }

            await Task.WhenAny(host.Fatal, stop, host.Drained);
        }

        if (host.Drained.IsCompleted)
        {
            return 0; // Drained (kepler-node drain): the node left and handed its chunks off already.
        }

        if (!host.Fatal.IsCompleted)
        {
            // SIGINT or SIGTERM: an orderly stop. The node leaves (peers mark it left, not dead, so it stops
            // counting towards N) and hands its chunks off before it exits. Not after a fatal failure: its state
            // is unknown, so it exits at once and its peers declare it dead.
            await host.LeaveAsync();
        }

        if (!host.Fatal.IsCompleted)
        {
            return 0;
        }

        await error.WriteLineAsync($"kepler-node: fatal: {await host.Fatal}; the node stops with exit code " +
            $"{FatalExitCode} rather than run on in an unknown state (the log has the stack)");
        return FatalExitCode;
    }
}
