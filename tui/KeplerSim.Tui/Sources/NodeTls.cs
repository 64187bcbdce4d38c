using KeplerSim.Node.Cli;

namespace KeplerSim.Tui.Sources;

/// <summary>
/// Which https certificates the monitor trusts: the system's, a CA file (<c>--ca-cert</c>, KEPLER_CA_CERT: a
/// private CA or a node's self-signed certificate) or any (<c>--insecure</c>, test setups only).
/// </summary>
public static class NodeTls
{
    /// <summary>
    /// The HTTP handler for a real cluster; throws <see cref="IOException"/> when the CA file cannot be used.
    /// </summary>
    public static SocketsHttpHandler Handler(string? caPath, bool insecure)
    {
        var handler = new SocketsHttpHandler { ConnectTimeout = HttpClusterSource.RequestTimeout };
        try
        {
            ClientTls.Configure(handler, caPath, insecure);
        }
        catch (IOException)
        {
            handler.Dispose();
            throw;
        }

        return handler;
    }
}
