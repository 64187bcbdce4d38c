using System.Net;
using System.Text.RegularExpressions;
using KeplerSim.Core.Node;
using KeplerSim.Core.Runtime;
using Microsoft.Extensions.Logging;

namespace KeplerSim.Node.Hosting;

public sealed partial record NodeConfig
{
    private static NodeId ParseNodeId(string? text)
    {
        if (text is null)
        {
            throw new ConfigException("NODE_ID", "is required: set NODE_ID or --node-id");
        }

        if (!NodeIdPattern().IsMatch(text))
        {
            throw new ConfigException("NODE_ID", $"'{text}' is invalid: expected 1..{NodeIdLengthMax} " +
                "characters from letters, digits, '.', '_' and '-'");
        }

        return new NodeId(text);
    }

    private static List<NetAddress> ParseSeeds(string? text)
    {
        var seeds = new List<NetAddress>();
        foreach (var item in Split(text))
        {
            try
            {
                seeds.Add(NetAddress.Parse(item));
            }
            catch (FormatException e)
            {
                throw new ConfigException("SEEDS", $"{e.Message} (comma-separated host:gossip_port)");
            }
        }

        return seeds;
    }

    private static List<Member> ParsePeers(string? text, NodeConfig self)
    {
        const string Allowed = "expected comma-separated id@ip:gossip_port:transfer_port";
        var peers = new List<Member>();
        var ids = new SortedSet<NodeId> { self.NodeId };
        foreach (var item in Split(text))
        {
            var match = PeerPattern().Match(item);
            if (!match.Success || !IPAddress.TryParse(match.Groups["host"].Value, out var ip)
                || !TryPort(match.Groups["gossip"].Value, out var gossip)
                || !TryPort(match.Groups["transfer"].Value, out var transfer))
            {
                throw new ConfigException("PEERS", $"'{item}' is invalid: {Allowed}");
            }

            var id = new NodeId(match.Groups["id"].Value);
            if (id == self.NodeId)
            {
                continue; // Every node may be given the same list; its own entry is implied.
            }

            if (!ids.Add(id))
            {
                throw new ConfigException("PEERS", $"'{id}' is listed twice");
            }

            var host = ip.ToString();
            peers.Add(new Member(id, new NetAddress(host, gossip), new NetAddress(host, transfer)));
        }

        return peers.Count > PeersMax
            ? throw new ConfigException("PEERS", $"{peers.Count} peers: at most {PeersMax}")
            : peers;
    }

    private static bool TryPort(string text, out int port) =>
        int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture,
            out port) && port is >= 1 and <= 65535;

    private static string ParseDataDir(string? text, NodeId id)
    {
        var path = text ?? Path.Combine(".", "data", id.Value);
        string full;
        try
        {
            full = Path.GetFullPath(path);
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException)
        {
            throw new ConfigException("DATA_DIR", $"'{path}' is not a usable directory path: {e.Message}");
        }

        return File.Exists(full)
            ? throw new ConfigException("DATA_DIR", $"'{path}' is a file: expected a directory (created if missing)")
            : full;
    }

    private static IPAddress ParseBindAddress(string? text)
    {
        if (text is null)
        {
            return IPAddress.Loopback;
        }

        return IPAddress.TryParse(text, out var address)
            ? address
            : throw new ConfigException("BIND_ADDRESS", $"'{text}' is invalid: expected an IP address such as " +
                "127.0.0.1 or 0.0.0.0");
    }

    private static LogFormat ParseLogFormat(string? text) => text?.ToLowerInvariant() switch
    {
        null => Console.IsOutputRedirected ? LogFormat.Json : LogFormat.Console,
        "json" => LogFormat.Json,
        "console" => LogFormat.Console,
        _ => throw new ConfigException("LOG_FORMAT", $"'{text}' is invalid: expected json or console"),
    };

    private static LogLevel ParseLogLevel(string? text) => text?.ToLowerInvariant() switch
    {
        null or "information" or "info" => LogLevel.Information,
        "trace" => LogLevel.Trace,
        "debug" => LogLevel.Debug,
        "warning" or "warn" => LogLevel.Warning,
        "error" => LogLevel.Error,
        "none" => LogLevel.None,
        _ => throw new ConfigException("LOG_LEVEL", $"'{text}' is invalid: expected trace, debug, information, " +
            "warning, error or none"),
    };

    private static IEnumerable<string> Split(string? text) =>
        (text ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    [GeneratedRegex("^[A-Za-z0-9._-]{1,64}$")]
    private static partial Regex NodeIdPattern();

    [GeneratedRegex(
        "^(?<id>[A-Za-z0-9._-]{1,64})@(?<host>[^:@]+|\\[[0-9a-fA-F:]+\\]):(?<gossip>[0-9]+):(?<transfer>[0-9]+)$")]
    private static partial Regex PeerPattern();
}
