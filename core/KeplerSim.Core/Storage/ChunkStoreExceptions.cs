namespace KeplerSim.Core.Storage;

/// <summary>Bytes offered for a chunk do not hash to its id; nothing was stored.</summary>
public sealed class ChunkMismatchException(string id, string actual)
    : Exception($"chunk {id} rejected: its bytes hash to {actual}")
{
    /// <summary>The id the bytes were offered for.</summary>
    public string ChunkId { get; } = id;

    /// <summary>The SHA-256 (lowercase hex) of the bytes actually offered.</summary>
    public string ActualHash { get; } = actual;
}

/// <summary>Bytes offered for a chunk exceed <see cref="ChunkStore.ChunkSizeBytesMax"/>; nothing was stored.</summary>
public sealed class ChunkTooLargeException(string id, long sizeBytes)
    : Exception($"chunk {id} rejected: {sizeBytes} bytes exceeds the maximum of {ChunkStore.ChunkSizeBytesMax}")
{
    /// <summary>The id the bytes were offered for.</summary>
    public string ChunkId { get; } = id;

    /// <summary>How many bytes had been offered when the limit was crossed.</summary>
    public long SizeBytes { get; } = sizeBytes;
}
