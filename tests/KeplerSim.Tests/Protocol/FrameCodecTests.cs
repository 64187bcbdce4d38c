using KeplerSim.Core.Protocol;

namespace KeplerSim.Tests.Protocol;

/// <summary>The transfer frames' wire format is a contract between node versions: data frames keep it.</summary>
[Trait("Category", "Fast")]
public sealed class FrameCodecTests
{
    [Fact]
    public void A_data_frame_is_the_union_tag_and_a_bin_as_with_a_byte_array()
    {
        var data = new byte[] { 1, 2, 3, 4, 5 };
        // [1, [bin8(5) 01 02 03 04 05]]: what ChunkDataFrame(byte[] Data) wrote before it carried memory.
        byte[] wire = [0x92, 0x01, 0x91, 0xC4, 0x05, 1, 2, 3, 4, 5];
        Assert.Equal(wire, FrameCodec.Encode(new ChunkDataFrame(data.AsMemory(0, 5))));
        var decoded = Assert.IsType<ChunkDataFrame>(FrameCodec.Decode(wire));
        Assert.Equal(data, decoded.Data.ToArray());
    }

    [Fact]
    public void A_decoded_data_frame_is_a_slice_of_the_received_frame_not_a_copy()
    {
        var wire = FrameCodec.Encode(new ChunkDataFrame(new byte[300_000]));
        var decoded = Assert.IsType<ChunkDataFrame>(FrameCodec.Decode(wire));
        Assert.True(System.Runtime.InteropServices.MemoryMarshal.TryGetArray(decoded.Data, out var segment));
        Assert.Same(wire, segment.Array);
        Assert.Equal(300_000, segment.Count);
    }

    [Fact]
    public void A_nil_where_chunk_data_belongs_is_a_protocol_error()
    {
        byte[] wire = [0x92, 0x01, 0x91, 0xC0];
        Assert.Throws<ProtocolException>(() => FrameCodec.Decode(wire));
    }
}
