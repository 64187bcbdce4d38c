using System.Diagnostics;

namespace KeplerSim.Sim.Real;

/// <summary>
/// Starts <c>kepler-node</c> as a real process: the one launcher of the real-process tests
/// (tests/KeplerSim.Node.Tests) and of <c>kepler-sim run --real</c>. A binary ending in <c>.dll</c> runs under
/// <c>dotnet</c>; a network namespace runs it through <c>ip netns exec</c>, which execs the node in place (the
/// process id is the node's, so signals reach it directly).
/// </summary>
public static class NodeLauncher
{
    /// <summary>Settings a node reads from its environment that a launcher must never inherit from its own.</summary>
    public static readonly IReadOnlyList<string> NodeSettings =
    [
        "NODE_ID", "HTTP_PORT", "GOSSIP_PORT", "TRANSFER_PORT", "PEERS", "SEEDS", "DATA_DIR", "REPLICATION_FACTOR",
        "CHUNK_SIZE_MB", "MAX_DISK_MB", "MAX_UPLOAD_MB", "SWIM_PROBE_INTERVAL_MS", "SCRUB_CHUNKS_PER_SECOND",
        "WRITE_TIMEOUT_MS", "UPLOAD_CHUNKS_IN_FLIGHT", "API_TOKENS", "METRICS_AUTH", "TLS_CERT", "TLS_KEY",
        "ENCRYPTION_KEY", "KEPLER_TOKEN", "KEPLER_CA_CERT", "CLUSTER_KEY", "INSECURE", "BIND_ADDRESS", "GC_GRACE",
        "ORPHAN_GRACE", "TRANSFER_CONNECTIONS_MAX", "TRANSFER_CONNECTIONS_PER_PEER_MAX", "KEPLER_TEST_OPTIONS",
        "KEPLER_TEST_FAULTS",
    ];

    /// <summary>
    /// Starts <paramref name="binary"/> with <paramref name="args"/>, exactly <paramref name="environment"/> added
    /// to a cleaned copy of this process's environment, stdout and stderr redirected (the caller drains them).
    /// </summary>
    /// <param name="binary">The kepler-node executable, or its <c>.dll</c> (run with <c>dotnet</c>).</param>
    /// <param name="environment">The node's settings.</param>
    /// <param name="args">Arguments (<c>serve</c> for a node).</param>
    /// <param name="workingDirectory">Where it runs (null: this process's directory).</param>
    /// <param name="netns">A network namespace to run it in (null: this process's).</param>
    public static Process Start(string binary, IReadOnlyDictionary<string, string?> environment,
        IReadOnlyList<string> args, string? workingDirectory = null, string? netns = null)
    {
        ArgumentNullException.ThrowIfNull(binary);
        ArgumentNullException.ThrowIfNull(environment);
        ArgumentNullException.ThrowIfNull(args);
        var command = new List<string>();
        if (netns is not null)
        {
            command.AddRange(["netns", "exec", netns]);
        }

        if (binary.EndsWith(".dll", StringComparison.Ordinal))
        {
            command.Add(DotnetHost());
        }

        command.Add(binary);
        command.AddRange(args);
        var info = new ProcessStartInfo(netns is null ? command[0] : "ip")
        {
            WorkingDirectory = workingDirectory ?? "",
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in netns is null ? command.Skip(1) : command)
        {
            info.ArgumentList.Add(arg);
        }

        foreach (var key in NodeSettings)
        {
            info.Environment.Remove(key);
        }

        foreach (var (key, value) in environment)
        {
            info.Environment[key] = value;
        }

        return Process.Start(info) ?? throw new InvalidOperationException($"could not start {binary}");
    }

    /// <summary>The <c>dotnet</c> host running this process (so a namespace's exec finds the same one), or
    /// <c>dotnet</c> from PATH.</summary>
    private static string DotnetHost() =>
        Environment.ProcessPath is { } path && Path.GetFileNameWithoutExtension(path) == "dotnet" ? path : "dotnet";
}
