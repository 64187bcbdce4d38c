namespace KeplerSim.Core.Storage;

public sealed partial class ChunkStore
{
    /// <summary>
    /// Stores a whole chunk durably: the bytes are hashed first and rejected with
    /// <see cref="ChunkMismatchException"/> (nothing stored) unless they hash to <paramref name="id"/>. A verified
    /// copy already stored makes this a no-op (<see cref="ChunkWriteOutcome.AlreadyPresent"/>, after making its
    /// directory entry durable); a corrupt one is replaced. <see cref="Runtime.DiskFullException"/> propagates
    /// after the tmp file is deleted. When this returns, the chunk survives any crash.
    /// </summary>
    public async Task<ChunkWriteOutcome> WriteAsync(string id, ReadOnlyMemory<byte> content)
    {
        RequireId(id);
        if (content.Length > ChunkSizeBytesMax)
        {
            WritesRejected++;
            throw new ChunkTooLargeException(id, content.Length);
        }

        var actual = IdOf(content.Span);
        if (!string.Equals(actual, id, StringComparison.Ordinal))
        {
            WritesRejected++;
            throw new ChunkMismatchException(id, actual);
        }

        var existing = await VerifyAsync(id);
        if (existing == ChunkStatus.Ok)
        {
            // The copy may have been renamed by a write still waiting for its directory fsync, or by an
            // incarnation that crashed before it: make its entry durable before acknowledging.
            await EnsureDirectoryDurableAsync(ShardOf(id));
            await _disk.FsyncDirectoryAsync(ShardOf(id));
            ChunksAlreadyPresent++;
            return ChunkWriteOutcome.AlreadyPresent;
        }

        await using var writer = await BeginWriteAsync(id);
        await writer.AppendAsync(content);
        var outcome = await writer.CommitAsync();
        return existing == ChunkStatus.Corrupt ? ChunkWriteOutcome.Repaired : outcome;
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

        await EnsureDirectoryDurableAsync(ShardOf(id));
        await _disk.FsyncDirectoryAsync(ShardOf(id));
        return true;
    }

    /// <summary>
    /// Starts a streaming write of chunk <paramref name="id"/>: append segments as they arrive (say, 64 KiB stream
    /// frames), then <see cref="ChunkWriter.CommitAsync"/>. Bytes go straight to a tmp file and are hashed
    /// incrementally, so no second copy of the chunk is held. Dispose without committing to abandon the write.
    /// The caller should check <see cref="VerifyAsync"/> first if it wants to skip chunks already stored: a
    /// streaming commit atomically replaces whatever copy is there.
    /// </summary>
    public async Task<ChunkWriter> BeginWriteAsync(string id)
    {
        RequireId(id);
        Invariant.That(_writersInFlight < WritersInFlightMax,
            $"more than {WritersInFlightMax} chunk writers open: the caller must bound its concurrent writes");
        _writersInFlight++;
        try
        {
            await EnsureDirectoryDurableAsync(TmpDirectory);
            var tmpPath = $"{TmpDirectory}/{id}.{_tmpSequence++}{TmpSuffix}";
            var file = await _disk.CreateAsync(tmpPath);
            return new ChunkWriter(this, id, tmpPath, file);
        }
        catch
        {
            _writersInFlight--;
            throw;
        }
    }

    /// <summary>Moves a complete, verified, fsync'd tmp file into its shard and makes the rename durable.</summary>
    internal async Task<ChunkWriteOutcome> PublishAsync(string id, string tmpPath, long sizeBytes)
    {
        var shard = ShardOf(id);
        await EnsureDirectoryDurableAsync(shard);
        await _disk.RenameAsync(tmpPath, PathOf(id));
        await _disk.FsyncDirectoryAsync(shard);
        ChunksWritten++;
        BytesWritten += sizeBytes;
        return ChunkWriteOutcome.Written;
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
}
