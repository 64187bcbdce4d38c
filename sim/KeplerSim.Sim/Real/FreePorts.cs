using System.Net;
using System.Net.Sockets;

namespace KeplerSim.Sim.Real;

/// <summary>Free ports on 127.0.0.1 (free for both TCP and UDP at the time of asking), never handed out twice by
/// this process.</summary>
public static class FreePorts
{
    private const int AttemptsMax = 100;
    private static readonly Lock Gate = new();
    private static readonly HashSet<int> Handed = [];

    /// <summary>A port free for TCP and UDP on the loopback address.</summary>
    public static int Next()
    {
        lock (Gate)
        {
            for (var attempt = 0; attempt < AttemptsMax; attempt++)
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
