using System.Buffers;
using MessagePack;
using MessagePack.Formatters;

namespace KeplerSim.Core.Protocol;

/// <summary>
/// Writes bytes as a MessagePack bin and reads a bin back as a slice of the buffer being decoded (a copy only when
/// that buffer is not contiguous). A nil is a protocol error: chunk data is never absent.
/// </summary>
public sealed class SegmentFormatter : IMessagePackFormatter<ReadOnlyMemory<byte>>
{
    /// <inheritdoc />
    public void Serialize(ref MessagePackWriter writer, ReadOnlyMemory<byte> value,
        MessagePackSerializerOptions options) => writer.Write(value.Span);

    /// <inheritdoc />
    public ReadOnlyMemory<byte> Deserialize(ref MessagePackReader reader, MessagePackSerializerOptions options)
    {
        var bytes = reader.ReadBytes() ?? throw new MessagePackSerializationException("chunk data is nil");
        return bytes.IsSingleSegment ? bytes.First : bytes.ToArray();
    }
}
