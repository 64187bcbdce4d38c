using KeplerSim.Core.Manifests;
using KeplerSim.Core.Metadata;
using KeplerSim.Core.Protocol;
using KeplerSim.Core.Storage;
using KeplerSim.Core.Transfer;
using KeplerSim.Core.Write;

namespace KeplerSim.Core.Node;

public sealed partial class KeplerNode
{
    private readonly PendingWrites _pending = new();
    private UploadBudget? _uploadBudget;
    private long _requestCounter;

    /// <summary>The node-wide budget of upload chunk buffers (KeplerOptions.UploadBufferBytesMax).</summary>
    internal UploadBudget Uploads => _uploadBudget ??=
        new UploadBudget((int)Math.Max(1, _options.UploadBufferBytesMax / _options.ChunkSizeBytes));

    /// <summary>Chunk ids some write in progress waits on (for tests: zero once every write has finished).</summary>
    internal int TrackedChunkCount => _pending.ChunkCount;

    /// <summary>
    /// Accepts a client write: refuses it at once when the live ring cannot hold the copies its durability promises,
    /// else hands it to a <see cref="FileWrite"/>, which owns it from the first chunk to the acknowledgement.
    /// </summary>
    public Task<FileVersionInfo> PutAsync(string path, Stream content, Durability durability) =>
        PutAsync(path, content, durability, attributes: null);

    /// <summary>
    /// <see cref="PutAsync(string, Stream, Durability)"/> storing the <paramref name="attributes"/> it returns once
    /// the content has been read to its end (computed from the content, such as an MD5) with the manifest.
    /// </summary>
    public async Task<FileVersionInfo> PutAsync(string path, Stream content, Durability durability,
        Func<IReadOnlyDictionary<string, string>?>? attributes)
    {
        ArgumentNullException.ThrowIfNull(content);
        var filePath = FilePath.Parse(path);
        using var transfer = BeginClientTransfer();
        await EnsureReadyAsync();
        var requestId = $"{Id.Value}/{_runtime.Random.NextUInt64():x16}/{++_requestCounter}";
        var required = durability == Durability.Fast ? 0 : EnsureEnoughMembersLive(durability, path);
        var write = new FileWrite(this, _replication, _options, requestId, filePath, durability, required)
        {
            Attributes = attributes,
        };
        var manifest = await write.RunAsync(content);
        return Describe(manifest, isWinner: true);
    }

    /// <inheritdoc />
    public async Task<FileVersionInfo> DeleteAsync(string path, Durability durability)
    {
        var filePath = FilePath.Parse(path);
        await EnsureReadyAsync();
        var required = EnsureEnoughMembersLive(durability, path);
        var current = await ResolveManifestAsync(filePath);
        if (current is null || current.IsTombstone)
        {
            throw new FileNotFoundInClusterException(path);
        }

        var tombstone = Manifest.CreateTombstone(filePath, Clock.Now(), Id).Superseding(CurrentVersions(filePath));
        await PublishManifestAsync(tombstone, required);
        return Describe(tombstone, isWinner: true);
    }

    /// <summary>Hashes a chunk of a client write once and writes it durably (for <see cref="FileWrite"/>).</summary>
    async Task<ChunkId> IWriteContext.StoreChunkAsync(ReadOnlyMemory<byte> data)
    {
        var chunk = await Store.HashAsync(data);
        // From here the write may find the chunk present and count it: an old unreferenced copy must not be
        // collected before the write records it (RecordChunk) and its manifest references it.
        _gc?.Touch(chunk.Id.Hex);
        await WaitWhileCollectedAsync(chunk.Id.Hex);
        _storing[chunk.Id.Hex] = _storing.GetValueOrDefault(chunk.Id.Hex) + 1; // Released by RecordChunk.
        try
        {
            if (await Store.WriteAsync(chunk) == ChunkWriteOutcome.Written)
            {
                _createdByWrite.Add(chunk.Id.Hex); // This write's copy is the first here (orphan claims, RecordChunk).
            }
        }
        catch
        {
            ReleaseStoring(chunk.Id.Hex);
            throw;
        }

        return chunk.Id;
    }

    /// <summary>Records a chunk of a client write and queues it for the other owners (deferred commit).</summary>
    long IWriteContext.RecordChunk(string chunkId, long sizeBytes, string requestId)
    {
        _gc?.Touch(chunkId);
        try
        {
            var created = _createdByWrite.Remove(chunkId) && Meta.GetChunk(chunkId) is null;
            _orphans.Claim(chunkId, requestId, created, _runtime.Clock.MonotonicMicroseconds);
            return Meta.TransactionDeferred(meta =>
                RecordLocalChunk(meta, chunkId, sizeBytes, requestId, replicate: true));
        }
        finally
        {
            // The write's tracker (PendingWrites) protects the chunk from here until its manifest does.
            ReleaseStoring(chunkId);
        }
    }

    /// <summary>
    /// Records a replica a peer sent (for <see cref="TransferServer"/>). Deferred (no WAL fsync per chunk
    /// received): the server's acknowledgement promises only the chunk's file, which is durable (fsync, rename,
    /// directory fsync). After a power loss that takes this record, startup recovery registers the file again with
    /// the very same record (ChunkIndex.MarkPresent) before the node serves anything.
    /// </summary>
    void ITransferServerContext.RecordReceivedChunk(string chunkId, long sizeBytes)
    {
        Meta.TransactionDeferred(meta =>
            RecordLocalChunk(meta, chunkId, sizeBytes, requestId: null, replicate: false));
        _replication?.Kick();
    }

    /// <summary>
    /// Records a chunk now durable on this disk: owned, or hinted. A hinted copy is always queued for every
    /// owner; an owned copy is queued for the other owners only when <paramref name="replicate"/> is set (this
    /// node accepted the write). A replica received from a peer is not queued onwards: the sender owns that
    /// delivery, and forwarding would bounce chunks between owners forever. Must run inside a metadata
    /// transaction.
    /// </summary>
    internal void RecordLocalChunk(MetadataStore meta, string id, long sizeBytes, string? requestId, bool replicate)
    {
        if (requestId is null)
        {
            _orphans.Untrack(id); // Recorded by something other than a write: who counts this copy is unknown.
        }

        var owners = Ring.OwnersOf(id);
        var owned = owners.Contains(Id);
        meta.UpsertChunk(new StoredChunk(id, sizeBytes, ChunkStore.PathOf(id),
            owned ? ChunkState.Durable : ChunkState.Hinted, NowMicroseconds));
        if (owned && !replicate)
        {
            return;
        }

        foreach (var owner in owners)
        {
            if (owner != Id)
            {
                meta.Enqueue(id, owner, NowMicroseconds, requestId);
            }
        }
    }

    /// <summary>
    /// Refuses a write up front (nothing stored, nothing queued) when the live ring cannot hold the copies its
    /// durability promises: a node cut off from its peers must not shrink N to itself (docs/PROTOCOL.md). Else
    /// returns those copies: the write's promise, fixed now for all of it (a replication factor lowered or a
    /// member learnt of while it runs does not change what it was promised).
    /// </summary>
    private int EnsureEnoughMembersLive(Durability durability, string path)
    {
        var required = CopiesRequired(durability);
        var promisedByFactor = KeplerOptions.CopiesFor(durability, ReplicationFactor);
        if (promisedByFactor > 1 && AwaitingJoin)
        {
            throw new DurabilityNotMetException(
                $"write of '{path}' with durability {durability.ToString().ToLowerInvariant()} needs up to " +
                $"{promisedByFactor} copies on distinct nodes (replication factor {ReplicationFactor}), but this " +
                "node has not joined its cluster yet: no seed has answered, so it knows no other member; " +
                "durability fast is accepted until it joins");
        }

        var live = Cluster.Members.Count;
        if (live >= required)
        {
            return required;
        }

        var unreachable = _known.Keys.Where(id => Cluster.Find(id) is null).Select(id => id.Value);
        throw new DurabilityNotMetException(
            $"write of '{path}' with durability {durability.ToString().ToLowerInvariant()} needs {required} " +
            $"copies on distinct nodes (replication factor {ReplicationFactor} over {_known.Count} " +
            $"known members), but only {live} members are live; not live: {string.Join(", ", unreachable)}");
    }

    /// <summary>
    /// Records the manifest here, then pushes it to every other member until <paramref name="required"/> nodes
    /// (this one included) hold it durably: the copies the write's durability promised when it began.
    /// </summary>
    private async Task PublishManifestAsync(Manifest manifest, int required)
    {
        ApplyManifest(manifest);
        var acknowledged = 1;
        var bytes = ManifestCodec.Encode(manifest);
        var done = new TaskCompletionSource();
        if (acknowledged >= required)
        {
            done.TrySetResult();
        }

        async Task CountAsync(Member member)
        {
            if (await PushManifestAsync(member, bytes) && ++acknowledged >= required)
            {
                done.TrySetResult();
            }
        }

        var pushes = Task.WhenAll(Cluster.Members.Where(m => m.Id != Id).Select(CountAsync).ToList());
        if (await Task.WhenAny(done.Task, pushes) != done.Task && !done.Task.IsCompleted)
        {
            throw new DurabilityNotMetException(
                $"manifest of '{manifest.Path}' reached {acknowledged} of {required} nodes; it spreads on retry");
        }
    }

    private async Task<bool> PushManifestAsync(Member member, byte[] manifest)
    {
        try
        {
            var reply = await _client.RequestAsync<PutManifestReply>(member.Id, new PutManifestRequest(manifest));
            return reply.Durable;
        }
        catch (Exception e) when (TransferChannel.IsTransferFailure(e))
        {
            return false;
        }
    }

    /// <summary>
    /// Records a manifest version (from this node or a peer); idempotent. The highest version token is the
    /// winner, so an older token never overwrites a newer one (fencing). Every other version is kept: as history
    /// when a later version superseded it, else as a conflict version. Returns whether it is now the winner.
    /// </summary>
    internal bool ApplyManifest(Manifest manifest)
    {
        if (!Clock.TryObserve(manifest.Version))
        {
            throw new ProtocolException($"manifest version {manifest.Version} is too far in the future");
        }

        var row = ToRow(manifest, isWinner: false);
        var isWinner = false;
        var inserted = false;
        Meta.Transaction(meta =>
        {
            inserted = meta.InsertFileVersion(row);
            isWinner = inserted ? Reconcile(meta, manifest.Path.Value) == row.Id : meta.GetWinner(row.Path)?.Id == row.Id;
            meta.SetMeta(HlcMetaKey, FormatToken(Clock.Last));
        });
        if (inserted)
        {
            foreach (var chunk in manifest.Chunks)
            {
                _orphans.Untrack(chunk.Hex); // A manifest references it: never an orphan here again.
            }

            RestoreCollectedChunksOf(manifest, row.Id);
            _antiEntropy.TrackVersion(row.Path, row.Id);
            _runtime.Events.Publish(new ManifestApplied(manifest.Path.Value, manifest.Version.ToString(),
                manifest.IsTombstone, isWinner));
        }

        return isWinner;
    }

    /// <summary>
    /// Recomputes the winner and the superseded flags of a path's versions; returns the winner's id. The winner is
    /// chosen by <see cref="ManifestOrder"/>, the one rule the tests and the checkers use too, not by the SQL
    /// order: SQLite compares node ids as UTF-8 bytes, <see cref="VersionToken"/> as UTF-16 code units, and the two
    /// disagree on a wall and logical tie between node ids with characters beyond U+FFFF (ManifestOrderTests).
    /// </summary>
    private static string? Reconcile(MetadataStore meta, string path)
    {
        var versions = meta.ListFileVersions(path).Select(r => (Row: r, Manifest: FromRow(r))).ToList();
        var superseded = versions.SelectMany(v => v.Manifest.Supersedes).ToHashSet();
        foreach (var (row, manifest) in versions)
        {
            meta.SetSuperseded(row.Id, superseded.Contains(manifest.Version));
        }

        var winner = versions.Count == 0 ? null
            : versions.MaxBy(v => v.Manifest, ManifestOrder.Comparer).Row.Id;
        if (winner is not null && meta.GetWinner(path)?.Id != winner)
        {
            meta.MarkWinner(winner);
        }

        return winner;
    }

    /// <summary>The versions a new write of <paramref name="path"/> supersedes: the winner and its conflicts.</summary>
    private IEnumerable<VersionToken> CurrentVersions(FilePath path) =>
        Meta.ListFileVersions(path.Value).Where(r => !r.Superseded).Take(Manifest.SupersedesMax).Select(TokenOf);
}
