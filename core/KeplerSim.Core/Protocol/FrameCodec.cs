using KeplerSim.Core.Runtime;
using MessagePack;

namespace KeplerSim.Core.Protocol;

/// <summary>Encodes and decodes transfer frames; hostile bytes become <see cref="ProtocolException"/>.</summary>
public static class FrameCodec
{
    /// <summary>Largest chunk segment carried in one data frame.</summary>
    public const int DataFrameBytesMax = 256 * 1024;

    internal static readonly MessagePackSerializerOptions Wire = MessagePackSerializerOptions.Standard
        .WithSecurity(MessagePackSecurity.UntrustedData);

    /// <summary>Encodes a frame (always through the union type, so the tag is written).</summary>
    public static byte[] Encode(TransferFrame frame) => MessagePackSerializer.Serialize(frame, Wire);

    /// <summary>Decodes a frame or throws <see cref="ProtocolException"/>.</summary>
    public static TransferFrame Decode(ReadOnlyMemory<byte> bytes)
    {
        try
        {
            return MessagePackSerializer.Deserialize<TransferFrame>(bytes, Wire)
                ?? throw new ProtocolException("empty frame");
        }
        catch (MessagePackSerializationException e)
        {
            throw new ProtocolException("malformed frame: " + e.Message, e);
        }
    }

    /// <summary>
    /// Sends a frame on a connection, encoded into a pooled buffer (the connection copies the frame before
    /// <see cref="IStreamConnection.SendAsync"/> returns, so the buffer goes back to the pool at once).
    /// </summary>
    public static Task SendAsync(this IStreamConnection connection, TransferFrame frame)
    {
        using var writer = new PooledFrameWriter();
        MessagePackSerializer.Serialize(writer, frame, Wire);
        return connection.SendAsync(writer.WrittenMemory);
    }

    /// <summary>Receives the next frame as <typeparamref name="T"/>; a close or another type is a protocol error.</summary>
    public static async Task<T> ReceiveAsync<T>(this IStreamConnection connection)
        where T : TransferFrame
    {
        var bytes = await connection.ReceiveAsync() ?? throw new ProtocolException(
            $"connection closed while waiting for {typeof(T).Name}");
        return Decode(bytes) as T ?? throw new ProtocolException($"expected {typeof(T).Name}");
    }
}

/// <summary>A peer sent something that does not follow the protocol.</summary>
public sealed class ProtocolException(string message, Exception? inner = null) : Exception(message, inner);
