using System.Collections.Immutable;
using System.Runtime.CompilerServices;

namespace KeplerSim.Core.Storage;

/// <summary>
/// One chunk of a stream. <see cref="Data"/> points into the chunker's single reusable buffer: it is valid only
/// until the enumerator moves on. Copy it (<c>Data.ToArray()</c>) or write it out before the next
/// <c>MoveNextAsync</c>.
/// </summary>
/// <param name="Index">Zero-based position of the chunk in the stream.</param>
/// <param name="OffsetBytes">Byte offset of the chunk's first byte in the stream.</param>
/// <param name="Id">SHA-256 of <paramref name="Data"/>.</param>
/// <param name="Data">The chunk's bytes: exactly the chunk size, except the last chunk (1..size).</param>
public readonly record struct Chunk(int Index, long OffsetBytes, ChunkId Id, ReadOnlyMemory<byte> Data);

/// <summary>
/// Cuts a stream into fixed-size chunks named by SHA-256, streaming: memory does not grow with the stream's length.
/// </summary>
/// <remarks>
/// <para>One enumeration allocates exactly one buffer of <see cref="ChunkSizeBytes"/> and reads straight into it,
/// so at most one chunk is ever held in memory; each yielded <see cref="Chunk.Data"/> reuses that buffer. Short
/// reads (a stream returning fewer bytes than asked) are retried until the chunk is full or the stream ends.</para>
/// <para>A zero-byte stream yields no chunks. Identical chunks are all emitted (same id twice); deduplication is the
/// store's business. Sizes from 1 byte are accepted so tests can use tiny chunks; a real cluster uses
/// <see cref="ChunkSizeBytesDefault"/>.</para>
/// </remarks>
public sealed class Chunker
{
    /// <summary>The default chunk size, 4 MiB.</summary>
    public const int ChunkSizeBytesDefault = 4 * 1024 * 1024;

    /// <summary>The smallest chunk size: 1 byte (useful in tests, wasteful in production).</summary>
    public const int ChunkSizeBytesMin = 1;

    /// <summary>The largest chunk size, 64 MiB: a chunk must fit comfortably in memory and in a stream frame.</summary>
    public const int ChunkSizeBytesMax = 64 * 1024 * 1024;

    /// <summary>
    /// The most chunks one stream may have: 2^18, i.e. 1 TiB at the default size. It bounds a manifest's chunk list
    /// (about 34 bytes per chunk on the wire, so under 9 MiB).
    /// </summary>
    public const int ChunkCountMax = 1 << 18;

    /// <summary>Creates a chunker; <paramref name="chunkSizeBytes"/> must lie in [Min, Max].</summary>
    public Chunker(int chunkSizeBytes = ChunkSizeBytesDefault)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(chunkSizeBytes, ChunkSizeBytesMin);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(chunkSizeBytes, ChunkSizeBytesMax);
        ChunkSizeBytes = chunkSizeBytes;
    }

    /// <summary>The size of every chunk but the last.</summary>
    public int ChunkSizeBytes { get; }

    /// <summary>
    /// Yields the chunks of <paramref name="source"/> in order. The yielded data is reused: consume each chunk
    /// before moving to the next.
    /// </summary>
    /// <exception cref="InvalidDataException">The stream has more than <see cref="ChunkCountMax"/> chunks.</exception>
    public IAsyncEnumerable<Chunk> ChunkAsync(Stream source, CancellationToken cancellationToken = default)
    {
        // Checked here rather than in the iterator so a bad argument fails at the call, not at the first MoveNext.
        ArgumentNullException.ThrowIfNull(source);
        if (!source.CanRead)
        {
            throw new ArgumentException("the stream is not readable", nameof(source));
        }

        return ChunkCoreAsync(source, cancellationToken);
    }

    /// <summary>
    /// Reads <paramref name="source"/> to the end and returns its size and chunk ids, holding one chunk at a time.
    /// </summary>
    public async Task<ChunkList> ListAsync(Stream source, CancellationToken cancellationToken = default)
    {
        var builder = new ChunkListBuilder(ChunkSizeBytes);
        await foreach (var chunk in ChunkAsync(source, cancellationToken))
        {
            builder.Add(chunk);
        }

        return builder.Build();
    }

    private async IAsyncEnumerable<Chunk> ChunkCoreAsync(
        Stream source, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var buffer = new byte[ChunkSizeBytes];
        var offsetBytes = 0L;
        for (var index = 0; ; index++)
        {
            var filled = await source.ReadAtLeastAsync(
                buffer, buffer.Length, throwOnEndOfStream: false, cancellationToken);
            if (filled == 0)
            {
                yield break;
            }

            if (index >= ChunkCountMax)
            {
                throw new InvalidDataException(
                    $"the stream has more than {ChunkCountMax} chunks of {ChunkSizeBytes} bytes");
            }

            var data = new ReadOnlyMemory<byte>(buffer, 0, filled);
            yield return new Chunk(index, offsetBytes, ChunkId.FromContent(data.Span), data);
            offsetBytes += filled;

            // ReadAtLeastAsync returns less than asked only at the end of the stream.
            if (filled < buffer.Length)
            {
                yield break;
            }
        }
    }
}

/// <summary>The outcome of chunking a whole stream: its size and the ordered ids of its chunks.</summary>
public sealed class ChunkList
{
    internal ChunkList(long sizeBytes, int chunkSizeBytes, ImmutableArray<ChunkId> chunks)
    {
        SizeBytes = sizeBytes;
        ChunkSizeBytes = chunkSizeBytes;
        Chunks = chunks;
    }

    /// <summary>Total bytes in the stream.</summary>
    public long SizeBytes { get; }

    /// <summary>The chunk size used.</summary>
    public int ChunkSizeBytes { get; }

    /// <summary>Chunk ids in stream order; repeats are kept.</summary>
    public ImmutableArray<ChunkId> Chunks { get; }
}

/// <summary>
/// Accumulates size and chunk ids while the caller consumes chunks (for example, writes them to disk), so one pass
/// over the stream both stores the data and yields what a manifest needs.
/// </summary>
public sealed class ChunkListBuilder
{
    private readonly ImmutableArray<ChunkId>.Builder _chunks = ImmutableArray.CreateBuilder<ChunkId>();
    private readonly int _chunkSizeBytes;
    private long _sizeBytes;
    private bool _sawShortChunk;

    /// <summary>Starts an empty list for chunks of <paramref name="chunkSizeBytes"/>.</summary>
    public ChunkListBuilder(int chunkSizeBytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(chunkSizeBytes, Chunker.ChunkSizeBytesMin);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(chunkSizeBytes, Chunker.ChunkSizeBytesMax);
        _chunkSizeBytes = chunkSizeBytes;
    }

    /// <summary>Appends the next chunk; chunks must arrive in order and only the last may be short.</summary>
    public void Add(in Chunk chunk)
    {
        Invariant.That(chunk.Index == _chunks.Count, "chunks must be added in index order without gaps");
        Invariant.That(!_sawShortChunk, "only the last chunk may be shorter than the chunk size");
        Invariant.That(chunk.Data.Length > 0, "a chunk is never empty");
        Invariant.That(chunk.Data.Length <= _chunkSizeBytes, "a chunk is larger than the chunk size");
        Invariant.That(!chunk.Id.IsDefault, "a chunk has no id");
        _chunks.Add(chunk.Id);
        _sizeBytes += chunk.Data.Length;
        _sawShortChunk = chunk.Data.Length < _chunkSizeBytes;
    }

    /// <summary>The list so far.</summary>
    public ChunkList Build() => new(_sizeBytes, _chunkSizeBytes, _chunks.ToImmutable());
}
