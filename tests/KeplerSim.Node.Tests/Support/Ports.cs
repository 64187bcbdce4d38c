using System.Net;
using System.Net.Sockets;

namespace KeplerSim.Node.Tests.Support;

/// <summary>Free ports on 127.0.0.1 (free for both TCP and UDP at the time of asking).</summary>
public static class Ports
{
    private static readonly object Gate = new();
    private static readonly HashSet<int> Handed = [];

    public static int Free()
    {
        lock (Gate)
        {
            for (var attempt = 0; attempt < 100; attempt++)
            {
                using var tcp = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                tcp.Bind(new IPEndPoint(IPAddress.Loopback, 0));
                var port = ((IPEndPoint)tcp.LocalEndPoint!).Port;
                if (!Handed.Add(port))
                {
                    continue;
                }

                try
                {
                    using var udp = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
                    udp.Bind(new IPEndPoint(IPAddress.Loopback, port));
                    return port;
                }
                catch (SocketException)
                {
                    // Taken for UDP; try another.
                }
            }

            throw new InvalidOperationException("no free port found on 127.0.0.1");
        }
    }
}
