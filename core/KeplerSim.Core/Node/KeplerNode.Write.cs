using KeplerSim.Core.Manifests;
using KeplerSim.Core.Metadata;
using KeplerSim.Core.Protocol;
using KeplerSim.Core.Runtime;
using KeplerSim.Core.Storage;

namespace KeplerSim.Core.Node;

public sealed partial class KeplerNode
{
    private readonly SortedDictionary<string, List<WriteTracker>> _trackers = new(StringComparer.Ordinal);
    private long _requestCounter;

    /// <inheritdoc />
    public async Task<FileVersionInfo> PutAsync(string path, Stream content, Durability durability)
    {
        ArgumentNullException.ThrowIfNull(content);
        var filePath = FilePath.Parse(path);
        await EnsureReadyAsync();
        var requestId = $"{Id.Value}/{_runtime.Random.NextUInt64():x16}/{++_requestCounter}";
        var tracker = new WriteTracker(requestId, durability == Durability.Fast ? 0 : _options.RequiredCopies(durability));
        var builder = new ChunkListBuilder(_options.ChunkSizeBytes);
        try
        {
            await foreach (var chunk in new Chunker(_options.ChunkSizeBytes).ChunkAsync(content))
            {
                builder.Add(chunk);
                await StoreIncomingChunkAsync(chunk, tracker);
            }

            await WaitForCopiesAsync(tracker, filePath);
        }
        finally
        {
            ForgetTracker(tracker);
        }

        var manifest = Manifest.Create(filePath, builder.Build(), Clock.Now(), Id)
            .Superseding(CurrentVersions(filePath));
        await PublishManifestAsync(manifest, durability);
        Metrics.WritesAcknowledged++;
        _runtime.Events.Publish(new WriteAcknowledged(path, manifest.Version.ToString(), durability.ToString(),
            manifest.Chunks.Count, manifest.SizeBytes));
        return Describe(manifest, isWinner: true);
    }

    /// <inheritdoc />
    public async Task<FileVersionInfo> DeleteAsync(string path, Durability durability)
    {
        var filePath = FilePath.Parse(path);
        await EnsureReadyAsync();
        var current = await ResolveManifestAsync(filePath);
        if (current is null || current.IsTombstone)
        {
            throw new FileNotFoundInClusterException(path);
        }

        var tombstone = Manifest.CreateTombstone(filePath, Clock.Now(), Id).Superseding(CurrentVersions(filePath));
        await PublishManifestAsync(tombstone, durability);
        return Describe(tombstone, isWinner: true);
    }

    /// <summary>
    /// Writes one chunk of a client's file durably here (as an owner, or as a hinted copy if this node owns none
    /// of it) and, in the same metadata transaction, queues it for every other owner.
    /// </summary>
    private async Task StoreIncomingChunkAsync(Chunk chunk, WriteTracker tracker)
    {
        var id = chunk.Id.Hex;
        await Store.WriteAsync(id, chunk.Data);
        Meta.Transaction(meta => RecordLocalChunk(meta, id, chunk.Data.Length, tracker.RequestId, replicate: true));
        var owners = Ring.OwnersOf(id);
        tracker.Expect(id, owners.Count);
        if (owners.Contains(Id))
        {
            tracker.Confirm(id, Id);
        }

        if (!_trackers.TryGetValue(id, out var list))
        {
            _trackers[id] = list = [];
        }

        list.Add(tracker);
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

    /// <summary>A replica of <paramref name="chunkId"/> is durable on <paramref name="owner"/>.</summary>
    internal void ConfirmCopy(string chunkId, NodeId owner)
    {
        if (_trackers.TryGetValue(chunkId, out var list))
        {
            // A copy: completing a tracker may finish its write, which removes the tracker from this list.
            foreach (var tracker in list.ToList())
            {
                tracker.Confirm(chunkId, owner);
            }
        }
    }

    private async Task WaitForCopiesAsync(WriteTracker tracker, FilePath path)
    {
        if (tracker.Done.IsCompleted)
        {
            return;
        }

        using var cancel = new CancellationTokenSource();
        var timeout = _runtime.Clock.DelayAsync(_options.WriteTimeoutMicroseconds, cancel.Token);
        if (await Task.WhenAny(tracker.Done, timeout) != tracker.Done)
        {
            Metrics.WritesTimedOut++;
            throw new DurabilityNotMetException(
                $"write of '{path}' did not reach {tracker.Required} copies per chunk within " +
                $"{_options.WriteTimeoutMicroseconds / 1000} ms; its data stays queued for replication");
        }

        cancel.Cancel();
    }

    private void ForgetTracker(WriteTracker tracker)
    {
        foreach (var id in tracker.ChunkIds)
        {
            if (_trackers.TryGetValue(id, out var list))
            {
                list.Remove(tracker);
                if (list.Count == 0)
                {
                    _trackers.Remove(id);
                }
            }
        }
    }

    /// <summary>
    /// Records the manifest here, then pushes it to every other member until as many nodes hold it durably as
    /// the durability asks for.
    /// </summary>
    private async Task PublishManifestAsync(Manifest manifest, Durability durability)
    {
        ApplyManifest(manifest);
        var required = Math.Min(_options.RequiredCopies(durability), Cluster.Members.Count);
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
            var reply = await RequestAsync<PutManifestReply>(member.Id, new PutManifestRequest(manifest));
            return reply.Durable;
        }
        catch (Exception e) when (IsTransferFailure(e))
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
            TrackVersion(row.Path, row.Id);
            _runtime.Events.Publish(new ManifestApplied(manifest.Path.Value, manifest.Version.ToString(),
                manifest.IsTombstone, isWinner));
        }

        return isWinner;
    }

    /// <summary>Recomputes the winner and the superseded flags of a path's versions; returns the winner's id.</summary>
    private static string? Reconcile(MetadataStore meta, string path)
    {
        var versions = meta.ListFileVersions(path).Select(r => (Row: r, Manifest: FromRow(r))).ToList();
        var superseded = versions.SelectMany(v => v.Manifest.Supersedes).ToHashSet();
        string? winner = null;
        foreach (var (row, manifest) in versions)
        {
            // Versions come highest token first: the first is the winner.
            winner ??= row.Id;
            meta.SetSuperseded(row.Id, superseded.Contains(manifest.Version));
        }

        if (winner is not null && meta.GetWinner(path)?.Id != winner)
        {
            meta.MarkWinner(winner);
        }

        return winner;
    }

    /// <summary>The versions a new write of <paramref name="path"/> supersedes: the winner and its conflicts.</summary>
    private IEnumerable<VersionToken> CurrentVersions(FilePath path) =>
        Meta.ListFileVersions(path.Value).Where(r => !r.Superseded).Take(Manifest.SupersedesMax).Select(TokenOf);

    /// <summary>Waits for every chunk of one write to reach its required number of owner copies.</summary>
    private sealed class WriteTracker(string requestId, int required)
    {
        private readonly SortedDictionary<string, (int Needed, SortedSet<NodeId> Owners)> _chunks =
            new(StringComparer.Ordinal);
        private readonly TaskCompletionSource _done = new();
        private int _unmet;

        public string RequestId => requestId;

        public int Required => required;

        public Task Done
        {
            get
            {
                if (_unmet == 0)
                {
                    _done.TrySetResult();
                }

                return _done.Task;
            }
        }

        public IEnumerable<string> ChunkIds => _chunks.Keys;

        public void Expect(string chunkId, int owners)
        {
            if (!_chunks.ContainsKey(chunkId))
            {
                var needed = Math.Min(required, owners);
                _chunks[chunkId] = (needed, []);
                if (needed > 0)
                {
                    _unmet++;
                }
            }
        }

        public void Confirm(string chunkId, NodeId owner)
        {
            if (_chunks.TryGetValue(chunkId, out var state) && state.Owners.Add(owner)
                && state.Owners.Count == state.Needed)
            {
                _unmet--;
                if (_unmet == 0)
                {
                    _done.TrySetResult();
                }
            }
        }
    }
}
