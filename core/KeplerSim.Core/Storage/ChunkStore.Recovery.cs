namespace KeplerSim.Core.Storage;

public sealed partial class ChunkStore
{
    /// <summary>
    /// Startup recovery; run once, before any write. Deletes leftover tmp files, then reconciles the disk with
    /// <paramref name="index"/>: a valid chunk the index does not know is registered, a corrupt one is deleted; a
    /// chunk the index knows but the disk lacks (or holds corrupt, which is then deleted) is marked missing and
    /// listed in <see cref="RecoveryReport.NeedsRepair"/>. With <paramref name="deferContent"/> false it reads and
    /// hashes every stored chunk before it returns, one full read of the store. With it true only what the
    /// listing tells is done now (tmp files, missing files); every chunk file found is left for
    /// the caller (<see cref="TakeDeferred"/>), and until it is verified nothing vouches for it without reading it
    /// (<see cref="IsDeferred"/>): reads and writes verify the bytes as always, and an offer of it
    /// (<see cref="ConfirmPresentAsync"/>) hashes it instead of trusting its size.
    /// </summary>
    public async Task<RecoveryReport> RecoverAsync(IChunkIndex index, bool deferContent = false)
    {
        ArgumentNullException.ThrowIfNull(index);
        Invariant.That(_writersInFlight == 0, "chunk recovery must run before any write starts");
        // A wrong key must stop the node before anything is changed. Without a key the check needs only to know
        // whether the store records one, which the walk's listing of the root tells without another disk operation
        // (so a plaintext node, and every simulation without encryption, does exactly what it did before keys
        // existed); only leftover tmp files, never data, are removed before it.
        if (_runtime.AtRestKey is not null)
        {
            await CheckAtRestKeyAsync();
        }

        await EnsureDirectoryDurableAsync(TmpDirectory);
        var tmpRemoved = await RemoveTmpFilesAsync();

        var (onDisk, strays, recordsKey) = await WalkAsync();
        if (_runtime.AtRestKey is null && recordsKey)
        {
            await CheckAtRestKeyAsync(); // Throws: the store's chunks are sealed and no key is configured.
        }

        var known = new SortedSet<string>(index.KnownChunks(), StringComparer.Ordinal);
        var found = new RecoveryFindings();
        foreach (var id in onDisk)
        {
            var isKnown = known.Remove(id);
            if (deferContent)
            {
                _deferred[id] = isKnown;
                _deferredOrder.Add(id);
            }
            else
            {
                await ReconcileAsync(index, id, isKnown, found);
            }
        }

        var missingKnown = known.ToList();
        foreach (var id in missingKnown)
        {
            index.MarkMissing(id);
            _runtime.Events.Publish(new ChunkMissingEvent(id));
        }

        var report = new RecoveryReport
        {
            TmpFilesRemoved = tmpRemoved,
            ChunksVerified = found.Verified,
            Registered = found.Registered,
            DeletedCorrupt = found.DeletedCorrupt,
            MissingKnown = missingKnown,
            CorruptKnown = found.CorruptKnown,
            StrayFiles = strays,
            Deferred = _deferredOrder.Count,
        };
        _deferredFindings = found;
        _runtime.Events.Publish(new ChunkRecoveryEvent(tmpRemoved.Count, found.Verified, found.Registered.Count,
            found.DeletedCorrupt.Count, missingKnown.Count, found.CorruptKnown.Count, strays.Count));
        return report;
    }

    /// <summary>
    /// Reads and hashes one chunk file recovery found: a valid one the index lacks is registered, a corrupt one is
    /// deleted (and, if the index knows it, marked missing).
    /// </summary>
    private async Task ReconcileAsync(IChunkIndex index, string id, bool isKnown, RecoveryFindings found)
    {
        var (status, buffer) = await LoadAsync(id);
        var sizeBytes = buffer?.Length ?? 0;
        buffer?.Dispose();
        if (status == ChunkStatus.Ok)
        {
            if (isKnown)
            {
                found.Verified++;
            }
            else
            {
                index.MarkPresent(id, sizeBytes);
                found.Registered.Add(id);
            }

            return;
        }

        if (status == ChunkStatus.Corrupt)
        {
            // Delete before marking missing: a crash in between leaves a known-but-missing chunk, which the
            // next recovery handles the same way.
            await DeleteAsync(id);
            (isKnown ? found.CorruptKnown : found.DeletedCorrupt).Add(id);
        }

        if (isKnown)
        {
            index.MarkMissing(id);
            _runtime.Events.Publish(new ChunkMissingEvent(id));
        }
    }

    private async Task<IReadOnlyList<string>> RemoveTmpFilesAsync()
    {
        var removed = new List<string>();
        foreach (var entry in await _disk.ListAsync(TmpDirectory))
        {
            if (entry.IsDirectory)
            {
                continue;
            }

            var path = TmpDirectory + "/" + entry.Name;
            await _disk.DeleteAsync(path);
            removed.Add(path);
            _runtime.Events.Publish(new ChunkTmpCleanedEvent(path));
        }

        if (removed.Count > 0)
        {
            await _disk.FsyncDirectoryAsync(TmpDirectory);
        }

        removed.Sort(StringComparer.Ordinal);
        return removed;
    }
}
