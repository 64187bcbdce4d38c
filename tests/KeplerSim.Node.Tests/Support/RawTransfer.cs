using System.Buffers.Binary;
using System.Net.Sockets;
using KeplerSim.Core.Protocol;

namespace KeplerSim.Node.Tests.Support;

/// <summary>Hand-built frames on a node's transfer port, as an outsider or a misbehaving client sends them.</summary>
internal static class RawTransfer
{
    /// <summary>
    /// Sends <paramref name="frames"/> on <paramref name="stream"/> in the unsealed framing (4-byte big-endian length,
    /// MessagePack) and returns the first frame answered, or null when the node closed (or reset) the connection
    /// instead of answering. Each read waits at most <paramref name="timeout"/>.
    /// </summary>
    public static async Task<TransferFrame?> ExchangeAsync(Stream stream, TimeSpan timeout,
        params TransferFrame[] frames)
    {
        try
        {
            foreach (var frame in frames)
            {
                var payload = FrameCodec.Encode(frame);
                var header = new byte[4];
                BinaryPrimitives.WriteInt32BigEndian(header, payload.Length);
                await stream.WriteAsync(header);
                await stream.WriteAsync(payload);
            }

            var length = new byte[4];
            await stream.ReadExactlyAsync(length).AsTask().WaitAsync(timeout);
            var body = new byte[BinaryPrimitives.ReadInt32BigEndian(length)];
            await stream.ReadExactlyAsync(body).AsTask().WaitAsync(timeout);
            return FrameCodec.Decode(body);
        }
        catch (Exception e) when (e is EndOfStreamException or IOException or SocketException
                                      or ObjectDisposedException)
        {
            return null;
        }
    }
}
