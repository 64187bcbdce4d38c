using KeplerSim.Core.Runtime;

namespace KeplerSim.Core.Storage;

public sealed partial class ChunkStore
{
    /// <summary>
    /// Stores a whole chunk durably: the bytes are hashed first and rejected with
    /// <see cref="ChunkMismatchException"/> (nothing stored) unless they hash to <paramref name="id"/>. A verified
    /// copy already stored makes this a no-op (<see cref="ChunkWriteOutcome.AlreadyPresent"/>, after making its
    /// directory entry durable); a corrupt one is replaced. <see cref="Runtime.DiskFullException"/> propagates
    /// after the tmp file is deleted. When this returns, the chunk survives any crash. The bytes are hashed once.
    /// </summary>
    public async Task<ChunkWriteOutcome> WriteAsync(string id, ReadOnlyMemory<byte> content)
    {
        RequireId(id);
        RequireSize(id, content.Length);
        var hashed = await HashAsync(content);
        if (!string.Equals(hashed.Id.Hex, id, StringComparison.Ordinal))
        {
            WritesRejected++;
            throw new ChunkMismatchException(id, hashed.Id.Hex);
        }

        return await WriteAsync(hashed);
    }

    /// <summary>
    /// Hashes <paramref name="content"/> (as pure work, which the real node runs off its loop) and returns it
    /// with its id, ready for <see cref="WriteAsync(HashedChunk)"/> without a second pass over the bytes. The
    /// caller must not change the bytes until the chunk is written.
    /// </summary>
    public async Task<HashedChunk> HashAsync(ReadOnlyMemory<byte> content)
    {
        var id = await _runtime.PureWork.RunAsync(() => ChunkId.FromContent(content.Span));
        return new HashedChunk(id, content);
    }

    /// <summary>
    /// Stores a chunk whose id was computed from these very bytes by <see cref="HashAsync"/>, so they are not
    /// hashed again; otherwise as <see cref="WriteAsync(string, ReadOnlyMemory{byte})"/>.
    /// </summary>
    public async Task<ChunkWriteOutcome> WriteAsync(HashedChunk chunk)
    {
        Invariant.That(!chunk.Id.IsDefault, "a hashed chunk has an id (make one with HashAsync)");
        var id = chunk.Id.Hex;
        RequireSize(id, chunk.Data.Length);
        var existing = await VerifyAsync(id);
        if (existing == ChunkStatus.Ok)
        {
            // The copy may have been renamed by a write still waiting for its directory fsync, or by an
            // incarnation that crashed before it: make its entry durable before acknowledging.
            await MakeEntryDurableAsync(id);
            ChunksAlreadyPresent++;
            return ChunkWriteOutcome.AlreadyPresent;
        }

        await using var writer = await BeginWriteCoreAsync(id, verifyHash: false);
        await writer.AppendAsync(chunk.Data);
        var outcome = await writer.CommitAsync();
        return existing == ChunkStatus.Corrupt ? ChunkWriteOutcome.Repaired : outcome;
    }

    /// <summary>
    /// Whether a file of <paramref name="sizeBytes"/> bytes holds <paramref name="id"/> here, without reading it
    /// (for a chunk the index vouches for; see <see cref="ConfirmDurableAsync"/> to verify the bytes). Its directory
    /// entry is made durable before answering true, so a peer may count it as a replica.
    /// </summary>
    public async Task<bool> ConfirmPresentAsync(string id, long sizeBytes)
    {
        RequireId(id);
        if (IsDeferred(id))
        {
            // Recovery left it unread: the index cannot vouch for bytes no one has read since the restart.
            return await ConfirmDurableAsync(id);
        }

        var stored = await _disk.GetLengthAsync(PathOf(id));
        var sealedLength = _runtime.AtRestKey is null ? -1 : AtRestFormat.StoredLength(sizeBytes);
        if (stored != sizeBytes && stored != sealedLength)
        {
            return false; // Neither a plaintext copy nor (with a key) a sealed one of this size.
        }

        await MakeEntryDurableAsync(id);
        return true;
    }

    /// <summary>
    /// Whether a verified copy of <paramref name="id"/> is stored here, made durable (its directory entry
    /// fsync'd) before answering true, so a peer may count it as a replica.
    /// </summary>
    public async Task<bool> ConfirmDurableAsync(string id)
    {
        RequireId(id);
        if (await VerifyAsync(id) != ChunkStatus.Ok)
        {
            return false;
        }

        await MakeEntryDurableAsync(id);
        return true;
    }

    /// <summary>
    /// Starts a streaming write of chunk <paramref name="id"/>: append segments as they arrive (say, 64 KiB stream
    /// frames), then <see cref="ChunkWriter.CommitAsync"/>. Bytes go straight to a tmp file and are hashed
    /// incrementally, so no second copy of the chunk is held. Dispose without committing to abandon the write.
    /// The caller should check <see cref="VerifyAsync"/> first if it wants to skip chunks already stored: a
    /// streaming commit atomically replaces whatever copy is there.
    /// </summary>
    public Task<ChunkWriter> BeginWriteAsync(string id)
    {
        RequireId(id);
        return BeginWriteCoreAsync(id, verifyHash: true);
    }

    /// <summary>
    /// Opens a writer; with <paramref name="verifyHash"/> false the caller vouches that the bytes it appends
    /// hashed to <paramref name="id"/> (they came through <see cref="HashAsync"/>), so they are not hashed again.
    /// </summary>
    private async Task<ChunkWriter> BeginWriteCoreAsync(string id, bool verifyHash)
    {
        Invariant.That(_writersInFlight < WritersInFlightMax,
            $"more than {WritersInFlightMax} chunk writers open: the caller must bound its concurrent writes");
        _writersInFlight++;
        try
        {
            await EnsureDirectoryDurableAsync(TmpDirectory);
            var tmpPath = $"{TmpDirectory}/{id}.{_tmpSequence++}{TmpSuffix}";
            var file = await _disk.CreateAsync(tmpPath);
            return new ChunkWriter(this, id, tmpPath, file, verifyHash, CreateSealer(id));
        }
        catch
        {
            _writersInFlight--;
            throw;
        }
    }

    /// <summary>
    /// The encryption of a new chunk file when an at-rest key is set: a fresh nonce prefix per file, drawn from the
    /// node's seeded random source so the simulator runs (and replays) exactly this code. The file binds
    /// <paramref name="id"/>: it opens only as that chunk.
    /// </summary>
    private ChunkSealer? CreateSealer(string id)
    {
        if (_runtime.AtRestKey is not { } key)
        {
            return null;
        }

        Span<byte> prefix = stackalloc byte[AtRestFormat.NoncePrefixSizeBytes];
        _runtime.Random.NextBytes(prefix);
        Span<byte> digest = stackalloc byte[ChunkId.DigestBytes];
        ChunkId.Parse(id).WriteDigest(digest);
        return new ChunkSealer(key, prefix, digest);
    }

    /// <summary>Moves a complete, verified, fsync'd tmp file into its shard and makes the rename durable.</summary>
    internal async Task<ChunkWriteOutcome> PublishAsync(string id, string tmpPath, long sizeBytes)
    {
        var shard = ShardOf(id);
        await EnsureDirectoryDurableAsync(shard);
        await _disk.RenameAsync(tmpPath, PathOf(id));
        Vouched(id); // Verified bytes replaced whatever recovery left unread.
        await _disk.FsyncDirectoryAsync(shard);
        ChunksWritten++;
        BytesWritten += sizeBytes;
        return ChunkWriteOutcome.Written;
    }

    /// <summary>Makes a stored chunk's directory entry (and its shard's) survive a crash.</summary>
    private async Task MakeEntryDurableAsync(string id)
    {
        await EnsureDirectoryDurableAsync(ShardOf(id));
        await _disk.FsyncDirectoryAsync(ShardOf(id));
    }

    /// <summary>Deletes an abandoned tmp file; best effort, since recovery removes any that remain.</summary>
    internal async Task DiscardAsync(string tmpPath)
    {
        try
        {
            await _disk.DeleteAsync(tmpPath);
        }
        catch (IOException)
        {
            // Keep the original failure; RecoverAsync deletes the leftover after the next start.
        }
    }

    internal void WriterClosed()
    {
        Invariant.That(_writersInFlight > 0, "writer closed twice");
        _writersInFlight--;
    }

    internal void CountRejected() => WritesRejected++;

    /// <summary>Where the store's pure work (hashing) runs.</summary>
    internal IPureWork PureWork => _runtime.PureWork;

    private void RequireSize(string id, int sizeBytes)
    {
        if (sizeBytes > ChunkSizeBytesMax)
        {
            WritesRejected++;
            throw new ChunkTooLargeException(id, sizeBytes);
        }
    }
}
