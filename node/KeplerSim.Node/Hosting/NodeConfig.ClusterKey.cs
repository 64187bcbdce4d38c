using System.Net;
using KeplerSim.Core.Security;

namespace KeplerSim.Node.Hosting;

public sealed partial record NodeConfig
{
    private static ClusterKeyring? ParseClusterKey(string? text)
    {
        if (text is null)
        {
            return null;
        }

        try
        {
            return ClusterKeyring.Parse(text);
        }
        catch (FormatException e)
        {
            // The message says which entry is wrong and why; it never repeats the secret.
            throw new ConfigException("CLUSTER_KEY", $"is invalid: {e.Message}; expected base64 keys of " +
                $"{ClusterKeyring.KeyBytes} bytes, comma-separated, primary first (`kepler-node keygen`)");
        }
    }

    private static bool ParseInsecure(string? text) => text switch
    {
        null or "0" or "false" => false,
        "1" or "true" => true,
        _ => throw new ConfigException("INSECURE", $"'{text}' is invalid: expected 1 or 0"),
    };

    /// <summary>
    /// Without a cluster key anyone who reaches the gossip and transfer ports can join, read, write and delete,
    /// so a node without one listens on loopback only unless INSECURE=1 says the network is trusted.
    /// </summary>
    private static void RequireKeyOffLoopback(NodeConfig config)
    {
        if (config.ClusterKey is null && !config.Insecure && !IPAddress.IsLoopback(config.BindAddress))
        {
            throw new ConfigException("CLUSTER_KEY", $"is not set, and BIND_ADDRESS {config.BindAddress} is not " +
                "a loopback address: anyone who can reach the gossip and transfer ports could join the cluster, " +
                "read, write and delete files. Set CLUSTER_KEY (generate one with `kepler-node keygen` or " +
                "`openssl rand -base64 32`), or INSECURE=1 on a network you trust");
        }
    }
}
