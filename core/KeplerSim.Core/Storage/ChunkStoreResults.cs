namespace KeplerSim.Core.Storage;

/// <summary>The state of one chunk on the local disk, as found by reading and hashing it.</summary>
public enum ChunkStatus
{
    /// <summary>No file holds the chunk.</summary>
    Missing = 0,

    /// <summary>The file's bytes hash to the chunk's id.</summary>
    Ok = 1,

    /// <summary>The file exists but its bytes do not hash to the id (bit rot, torn or foreign file).</summary>
    Corrupt = 2,
}

/// <summary>What a write did.</summary>
public enum ChunkWriteOutcome
{
    /// <summary>The chunk was not stored before and is now durable.</summary>
    Written = 1,

    /// <summary>A verified copy was already stored; nothing was written (its entry was made durable).</summary>
    AlreadyPresent = 2,

    /// <summary>A corrupt copy was stored; it was atomically replaced by the new, verified bytes.</summary>
    Repaired = 3,
}

/// <summary>
/// The result of a verified read. <see cref="Data"/> is only available when <see cref="Status"/> is
/// <see cref="ChunkStatus.Ok"/>: bytes that fail verification never leave the store. A whole-chunk read holds a
/// pooled <see cref="ChunkBuffer"/>: <see cref="Dispose"/> hands it back once the bytes are no longer read
/// (optional; an undisposed result is collected like any array).
/// </summary>
public readonly struct ChunkReadResult : IDisposable
{
    private readonly ReadOnlyMemory<byte> _data;
    private readonly ChunkBuffer? _buffer;

    private ChunkReadResult(ChunkStatus status, ReadOnlyMemory<byte> data, ChunkBuffer? buffer)
    {
        Status = status;
        _data = data;
        _buffer = buffer;
    }

    /// <summary>A chunk that is not stored.</summary>
    public static ChunkReadResult Missing => new(ChunkStatus.Missing, ReadOnlyMemory<byte>.Empty, null);

    /// <summary>A chunk whose stored bytes failed verification.</summary>
    public static ChunkReadResult Corrupt => new(ChunkStatus.Corrupt, ReadOnlyMemory<byte>.Empty, null);

    /// <summary>Missing, Ok or Corrupt.</summary>
    public ChunkStatus Status { get; }

    /// <summary>Whether the read returned verified bytes.</summary>
    public bool IsOk => Status == ChunkStatus.Ok;

    /// <summary>
    /// The verified bytes (the whole chunk, or the requested range). Throws <see cref="InvalidOperationException"/>
    /// unless <see cref="Status"/> is <see cref="ChunkStatus.Ok"/>, and <see cref="ObjectDisposedException"/> once
    /// a pooled result was disposed.
    /// </summary>
    public ReadOnlyMemory<byte> Data => Status != ChunkStatus.Ok
        ? throw new InvalidOperationException($"chunk read is {Status}: there are no verified bytes")
        : _buffer?.Data ?? _data;

    /// <summary>
    /// Takes the verified bytes out of the result: the caller now owns the buffer (and disposes it). Throws unless
    /// <see cref="Status"/> is <see cref="ChunkStatus.Ok"/>.
    /// </summary>
    public ChunkBuffer TakeBuffer() => Status != ChunkStatus.Ok
        ? throw new InvalidOperationException($"chunk read is {Status}: there are no verified bytes")
        : _buffer ?? ChunkBuffer.Wrap(_data.ToArray());

    /// <summary>A successful read of verified bytes.</summary>
    public static ChunkReadResult Ok(ReadOnlyMemory<byte> data) => new(ChunkStatus.Ok, data, null);

    /// <summary>A successful read of a whole chunk into a pooled buffer (returned by <see cref="Dispose"/>).</summary>
    internal static ChunkReadResult Ok(ChunkBuffer buffer) => new(ChunkStatus.Ok, ReadOnlyMemory<byte>.Empty, buffer);

    /// <summary>Returns a pooled buffer; the bytes must not be read afterwards.</summary>
    public void Dispose() => _buffer?.Dispose();
}

/// <summary>
/// What <see cref="ChunkStore.RecoverAsync"/> found and did. Every list is sorted ordinally, so a report prints the
/// same in every run of a seed.
/// </summary>
public sealed record RecoveryReport
{
    /// <summary>Leftover temporary files (writes cut short by a crash) that were deleted.</summary>
    public required IReadOnlyList<string> TmpFilesRemoved { get; init; }

    /// <summary>Known to the index and verified on disk.</summary>
    public required int ChunksVerified { get; init; }

    /// <summary>Valid on disk but unknown to the index (written just before a crash): now registered.</summary>
    public required IReadOnlyList<string> Registered { get; init; }

    /// <summary>Corrupt on disk and unknown to the index: deleted.</summary>
    public required IReadOnlyList<string> DeletedCorrupt { get; init; }

    /// <summary>Known to the index but absent on disk: marked missing in the index.</summary>
    public required IReadOnlyList<string> MissingKnown { get; init; }

    /// <summary>Known to the index but corrupt on disk: deleted and marked missing in the index.</summary>
    public required IReadOnlyList<string> CorruptKnown { get; init; }

    /// <summary>Files in the shards whose names are not chunks of that shard: reported, left alone.</summary>
    public required IReadOnlyList<string> StrayFiles { get; init; }

    /// <summary>
    /// Chunk files whose content check recovery left for later (<see cref="ChunkStore.TakeDeferred"/>; recovery
    /// with deferred content). That check appends its findings to <see cref="Registered"/>,
    /// <see cref="DeletedCorrupt"/> and <see cref="CorruptKnown"/> as it goes; <see cref="ChunksVerified"/> counts
    /// only what recovery itself read.
    /// </summary>
    public int Deferred { get; init; }

    /// <summary>Chunks this node should hold but lost (missing or corrupt): replication must copy them back.</summary>
    public IReadOnlyList<string> NeedsRepair =>
        [.. MissingKnown.Concat(CorruptKnown).Order(StringComparer.Ordinal)];
}

/// <summary>
/// A chunk's bytes together with the id they hash to. Only <see cref="ChunkStore.HashAsync"/> makes one, so the id
/// was computed from exactly these bytes (as long as the owner of the buffer leaves it alone until the write).
/// </summary>
public readonly struct HashedChunk
{
    internal HashedChunk(ChunkId id, ReadOnlyMemory<byte> data)
    {
        Id = id;
        Data = data;
    }

    /// <summary>SHA-256 of <see cref="Data"/>.</summary>
    public ChunkId Id { get; }

    /// <summary>The bytes.</summary>
    public ReadOnlyMemory<byte> Data { get; }
}
