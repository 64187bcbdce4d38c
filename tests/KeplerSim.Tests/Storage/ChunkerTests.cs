using System.Security.Cryptography;
using KeplerSim.Core;
using KeplerSim.Core.Storage;

namespace KeplerSim.Tests.Storage;

[Trait("Category", "Fast")]
public sealed class ChunkerTests
{
    private const int ChunkSize = 1024;

    [Fact]
    public void The_chunk_list_builder_refuses_a_size_under_one_byte_and_a_chunk_over_its_size()
    {
        // Kills Chunker.cs:154 (the lower size check removed: a list of 0-byte chunks started) and 165 (the
        // oversized-chunk invariant removed or its message emptied: a 5-byte chunk counted into a list of 4).
        Assert.Throws<ArgumentOutOfRangeException>(() => new ChunkListBuilder(Chunker.ChunkSizeBytesMin - 1));
        var builder = new ChunkListBuilder(4);
        byte[] five = [1, 2, 3, 4, 5];
        var refused = Assert.Throws<InvariantViolationException>(
            () => builder.Add(new Chunk(0, 0, ChunkId.FromContent(five), five)));
        Assert.Contains("larger than the chunk size", refused.Message, StringComparison.Ordinal);
        Assert.Empty(builder.Build().Chunks);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(ChunkSize - 1)]
    [InlineData(ChunkSize)]
    [InlineData(ChunkSize + 1)]
    [InlineData((5 * ChunkSize) + 17)]
    [InlineData(7 * ChunkSize)]
    public async Task Chunks_concatenate_to_the_input_and_are_named_by_their_sha256(int length)
    {
        var input = Content(length, seed: length);
        await AssertChunksOf(input, new MemoryStream(input));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(ChunkSize + 1)]
    [InlineData((3 * ChunkSize) + 5)]
    public async Task Short_reads_still_give_full_chunks(int length)
    {
        var input = Content(length, seed: 7);
        await AssertChunksOf(input, new ShortReadStream(input, readBytesMax: 7));
    }

    [Fact]
    public async Task Zero_byte_stream_has_no_chunks()
    {
        var chunker = new Chunker(ChunkSize);
        var chunks = await Collect(chunker, new MemoryStream());
        var list = await chunker.ListAsync(new MemoryStream());

        Assert.Empty(chunks);
        Assert.Equal(0, list.SizeBytes);
        Assert.Empty(list.Chunks);
    }

    [Fact]
    public async Task Repeated_content_emits_the_same_id_twice()
    {
        var block = Content(ChunkSize, seed: 1);
        var other = Content(ChunkSize, seed: 2);
        var input = block.Concat(other).Concat(block).ToArray();

        var list = await new Chunker(ChunkSize).ListAsync(new MemoryStream(input));

        Assert.Equal(3, list.Chunks.Length);
        Assert.Equal(list.Chunks[0], list.Chunks[2]);
        Assert.NotEqual(list.Chunks[0], list.Chunks[1]);
    }

    [Fact]
    public async Task ListAsync_reports_size_and_ids_in_order()
    {
        var input = Content((4 * ChunkSize) + 3, seed: 3);
        var chunker = new Chunker(ChunkSize);

        var list = await chunker.ListAsync(new ShortReadStream(input, readBytesMax: 100));
        var chunks = await Collect(chunker, new MemoryStream(input));

        Assert.Equal(input.Length, list.SizeBytes);
        Assert.Equal(ChunkSize, list.ChunkSizeBytes);
        Assert.Equal(chunks.Select(c => c.Id), list.Chunks);
    }

    [Fact]
    public void Chunk_size_is_bounded()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new Chunker(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Chunker(Chunker.ChunkSizeBytesMax + 1));
        Assert.Equal(1, new Chunker(Chunker.ChunkSizeBytesMin).ChunkSizeBytes);
        Assert.Equal(Chunker.ChunkSizeBytesMax, new Chunker(Chunker.ChunkSizeBytesMax).ChunkSizeBytes);
        Assert.Equal(4 * 1024 * 1024, new Chunker().ChunkSizeBytes);
        Assert.InRange(Chunker.ChunkSizeBytesDefault, Chunker.ChunkSizeBytesMin, Chunker.ChunkSizeBytesMax);
    }

    [Fact]
    public void Bad_arguments_fail_at_the_call_not_at_the_first_chunk()
    {
        var chunker = new Chunker(ChunkSize);
        Assert.Throws<ArgumentNullException>(() => chunker.ChunkAsync(null!));
        var closed = new MemoryStream();
        closed.Dispose();
        Assert.Throws<ArgumentException>(() => chunker.ChunkAsync(closed));
    }

    [Fact]
    public async Task A_stream_with_more_than_the_chunk_count_limit_is_rejected()
    {
        var chunker = new Chunker(1);
        var stream = new GeneratedStream(Chunker.ChunkCountMax + 1L);

        var error = await Assert.ThrowsAsync<InvalidDataException>(() => chunker.ListAsync(stream));

        Assert.Contains($"more than {Chunker.ChunkCountMax} chunks", error.Message);
    }

    [Fact]
    public void Memory_does_not_grow_with_stream_length()
    {
        const int chunkSize = 1024 * 1024;
        ChunkAndMeasureAllocations(2L * chunkSize, chunkSize); // warm up: JIT and first-call statics.

        var small = ChunkAndMeasureAllocations(8L * chunkSize, chunkSize);
        var large = ChunkAndMeasureAllocations(64L * chunkSize, chunkSize);

        // One chunk buffer plus a few hundred bytes per chunk (the id string); nothing proportional to the bytes.
        Assert.True(large < chunkSize + (256 * 1024), $"chunking 64 MiB allocated {large} bytes");
        Assert.True(large - small < 64 * 1024, $"8 MiB allocated {small} bytes, 64 MiB allocated {large}");
    }

    [Fact]
    public void ChunkId_FromContent_is_sha256_hex()
    {
        var id = ChunkId.FromContent("abc"u8);

        Assert.Equal("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", id.ToString());
        Assert.Equal(id, ChunkId.Parse(id.Hex));
        Assert.False(id.IsDefault);
        Assert.True(default(ChunkId).IsDefault);
    }

    [Theory]
    [InlineData(null, "chunk id is missing (null)")]
    [InlineData("", "chunk id has 0 characters; expected 64 lowercase hex characters")]
    [InlineData("abc", "chunk id has 3 characters; expected 64 lowercase hex characters")]
    [InlineData("BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD",
        "chunk id has 'B' (U+0042) at index 0; expected lowercase hex 0-9a-f")]
    [InlineData("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ag",
        "chunk id has 'g' (U+0067) at index 63; expected lowercase hex 0-9a-f")]
    [InlineData("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015a ",
        "chunk id has ' ' (U+0020) at index 63; expected lowercase hex 0-9a-f")]
    public void ChunkId_Parse_rejects_anything_but_64_lowercase_hex(string? text, string expected)
    {
        var error = Assert.Throws<FormatException>(() => ChunkId.Parse(text!));
        Assert.Equal(expected, error.Message);
        Assert.False(ChunkId.TryParse(text, out _));
    }

    [Fact]
    public void ChunkId_orders_ordinally_and_round_trips_its_digest()
    {
        var a = ChunkId.Parse(new string('0', 64));
        var b = ChunkId.Parse(new string('a', 64));
        Assert.True(a.CompareTo(b) < 0);
        Assert.True(b.CompareTo(a) > 0);

        var digest = new byte[ChunkId.DigestBytes];
        b.WriteDigest(digest);
        Assert.Equal(b, ChunkId.FromDigest(digest));
        Assert.Throws<FormatException>(() => ChunkId.FromDigest(new byte[31]));
    }

    private static async Task AssertChunksOf(byte[] input, Stream stream)
    {
        var chunks = await Collect(new Chunker(ChunkSize), stream);

        Assert.Equal((input.Length + ChunkSize - 1) / ChunkSize, chunks.Count);
        Assert.Equal(input, chunks.SelectMany(c => c.Data).ToArray());
        long offset = 0;
        for (var i = 0; i < chunks.Count; i++)
        {
            var (index, offsetBytes, id, data) = chunks[i];
            Assert.Equal(i, index);
            Assert.Equal(offset, offsetBytes);
            Assert.Equal(i < chunks.Count - 1 ? ChunkSize : input.Length - offset, data.Length);
            Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(data)), id.Hex);
            offset += data.Length;
        }
    }

    private static async Task<List<(int Index, long OffsetBytes, ChunkId Id, byte[] Data)>> Collect(
        Chunker chunker, Stream stream)
    {
        // The chunker reuses its buffer, so each chunk is copied before moving on.
        var chunks = new List<(int, long, ChunkId, byte[])>();
        await foreach (var chunk in chunker.ChunkAsync(stream))
        {
            chunks.Add((chunk.Index, chunk.OffsetBytes, chunk.Id, chunk.Data.ToArray()));
        }

        return chunks;
    }

    // Drives the enumerator synchronously so every allocation lands on this thread; the generated stream completes
    // every read synchronously, so nothing ever leaves the thread.
    private static long ChunkAndMeasureAllocations(long length, int chunkSize)
    {
        var chunker = new Chunker(chunkSize);
        var stream = new GeneratedStream(length);
        var before = GC.GetAllocatedBytesForCurrentThread();
        var enumerator = chunker.ChunkAsync(stream).GetAsyncEnumerator();
        long total = 0;
        while (true)
        {
            var next = enumerator.MoveNextAsync();
            Assert.True(next.IsCompleted, "the generated stream completes synchronously");
            if (!next.Result)
            {
                break;
            }

            total += enumerator.Current.Data.Length;
        }

        var disposed = enumerator.DisposeAsync();
        Assert.True(disposed.IsCompleted);
        var after = GC.GetAllocatedBytesForCurrentThread();
        Assert.Equal(length, total);
        return after - before;
    }

    internal static byte[] Content(int length, int seed)
    {
        // A tiny LCG: deterministic across .NET versions, unlike System.Random.
        var bytes = new byte[length];
        var state = (uint)seed * 2654435761u + 1;
        for (var i = 0; i < bytes.Length; i++)
        {
            state = (state * 1664525) + 1013904223;
            bytes[i] = (byte)(state >> 24);
        }

        return bytes;
    }

    /// <summary>Returns at most a few bytes per read, like a slow socket.</summary>
    private sealed class ShortReadStream(byte[] content, int readBytesMax) : Stream
    {
        private int _position;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => _position; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            // Vary the read size (1..max) so reads straddle chunk boundaries at different offsets.
            var wanted = Math.Min(buffer.Length, 1 + (_position % readBytesMax));
            var count = Math.Min(wanted, content.Length - _position);
            content.AsSpan(_position, count).CopyTo(buffer);
            _position += count;
            return count;
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken)
        {
            await Task.Yield();
            return Read(buffer.Span);
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    /// <summary>Produces <c>length</c> bytes on the fly without holding them; reads complete synchronously.</summary>
    internal sealed class GeneratedStream(long length) : Stream
    {
        private long _position;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => length;
        public override long Position { get => _position; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            var count = (int)Math.Min(buffer.Length, length - _position);
            buffer[..count].Fill((byte)(_position >> 10));
            _position += count;
            return count;
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken) =>
            ValueTask.FromResult(Read(buffer.Span));

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
