using KeplerSim.Core.Manifests;
using KeplerSim.Core.Metadata;
using KeplerSim.Core.Protocol;
using KeplerSim.Core.Runtime;
using KeplerSim.Core.Storage;
using KeplerSim.Core.Transfer;

namespace KeplerSim.Core.Node;

public sealed partial class KeplerNode
{
    private readonly SortedDictionary<string, List<WriteTracker>> _trackers = new(StringComparer.Ordinal);
    private long _requestCounter;

    /// <summary>Chunk ids some write in progress waits on (for tests: zero once every write has finished).</summary>
    internal int TrackedChunkCount => _trackers.Count;

    /// <inheritdoc />
    public async Task<FileVersionInfo> PutAsync(string path, Stream content, Durability durability)
    {
        ArgumentNullException.ThrowIfNull(content);
        var filePath = FilePath.Parse(path);
        using var transfer = BeginClientTransfer();
        await EnsureReadyAsync();
        var requestId = $"{Id.Value}/{_runtime.Random.NextUInt64():x16}/{++_requestCounter}";
        var tracker = new WriteTracker(requestId, durability == Durability.Fast ? 0 : CopiesRequired(durability));
        EnsureEnoughMembersLive(durability, path);
        ChunkList chunks;
        try
        {
            chunks = await StoreChunksAsync(content, tracker, filePath);
            await WaitForCopiesAsync(tracker.Done, tracker.Required, filePath);
        }
        finally
        {
            ForgetTracker(tracker);
        }

        // Every chunk record and queue entry of this write is durable before its manifest goes anywhere.
        Meta.MakeDurable(tracker.RecordedThrough);
        var manifest = Manifest.Create(filePath, chunks, Clock.Now(), Id)
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
        EnsureEnoughMembersLive(durability, path);
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
    /// Cuts the client's stream into chunks and stores them, keeping up to
    /// <see cref="KeplerOptions.UploadChunksInFlight"/> chunks in flight: while some are hashed and written, the
    /// next is read. Chunks are collected in stream order (oldest first) for the manifest. A chunk's buffer is
    /// reused once the chunk is stored and its direct pushes to the other owners have ended; a <c>quorum</c>
    /// chunk can be done while a push to a slower owner still reads its buffer: that buffer is lent out until
    /// the push ends, at most <see cref="KeplerOptions.UploadChunksInFlight"/> of them (then the upload waits).
    /// Memory is at most two chunk buffers per chunk in flight, whatever the file's size. On any failure every
    /// chunk still in flight finishes (or fails) before the failure propagates, so nothing of this write but its
    /// pushes (which only read their buffers) runs on afterwards.
    /// </summary>
    private async Task<ChunkList> StoreChunksAsync(Stream content, WriteTracker tracker, FilePath path)
    {
        var builder = new ChunkListBuilder(_options.ChunkSizeBytes);
        var inFlight = new Queue<(Chunk Chunk, byte[] Buffer, Task<ChunkId> Stored, ChunkPushes Pushes)>();
        var buffers = new UploadBuffers(_options.ChunkSizeBytes, _options.UploadChunksInFlight);
        var offsetBytes = 0L;
        try
        {
            for (var index = 0; ; index++)
            {
                if (inFlight.Count >= _options.UploadChunksInFlight)
                {
                    var (buffer, pushes) = await CollectOldestAsync(inFlight, builder);
                    buffers.Release(buffer, pushes);
                }

                var next = await buffers.TakeAsync();
                var filled = await content.ReadAtLeastAsync(next, next.Length, throwOnEndOfStream: false);
                if (filled == 0)
                {
                    break;
                }

                if (index >= Chunker.ChunkCountMax)
                {
                    throw new InvalidDataException(
                        $"the stream has more than {Chunker.ChunkCountMax} chunks of {_options.ChunkSizeBytes} bytes");
                }

                var data = new ReadOnlyMemory<byte>(next, 0, filled);
                var chunkPushes = new ChunkPushes();
                inFlight.Enqueue((new Chunk(index, offsetBytes, default, data), next,
                    StoreIncomingChunkAsync(data, tracker, path, chunkPushes), chunkPushes));
                Metrics.UploadChunksInFlightPeak = Math.Max(Metrics.UploadChunksInFlightPeak, inFlight.Count);
                offsetBytes += filled;
                if (filled < next.Length)
                {
                    break; // ReadAtLeastAsync returns less than asked only at the end of the stream.
                }
            }

            while (inFlight.Count > 0)
            {
                await CollectOldestAsync(inFlight, builder);
            }
        }
        catch
        {
            // Let the rest finish before the failure propagates; their own failures add nothing new.
            foreach (var (_, _, stored, _) in inFlight)
            {
                try
                {
                    await stored;
                }
                catch (Exception)
                {
                    // Already failing: the first failure is the one reported.
                }
            }

            throw;
        }

        return builder.Build();
    }

    /// <summary>Waits for the oldest chunk in flight, adds it to the list and returns its buffer for reuse.</summary>
    private static async Task<(byte[] Buffer, ChunkPushes Pushes)> CollectOldestAsync(
        Queue<(Chunk Chunk, byte[] Buffer, Task<ChunkId> Stored, ChunkPushes Pushes)> inFlight,
        ChunkListBuilder builder)
    {
        var (chunk, buffer, stored, pushes) = inFlight.Peek();
        var id = await stored;
        inFlight.Dequeue();
        builder.Add(chunk with { Id = id });
        return (buffer, pushes);
    }

    /// <summary>The direct pushes of one upload chunk to its other owners (they read the chunk's buffer).</summary>
    private sealed class ChunkPushes
    {
        public Task Ended { get; set; } = Task.CompletedTask;
    }

    /// <summary>
    /// An upload's chunk buffers: spare ones, and ones lent to pushes still running (reused once they end).
    /// </summary>
    private sealed class UploadBuffers(int chunkSizeBytes, int lentMax)
    {
        private readonly Stack<byte[]> _spare = new();
        private readonly List<(byte[] Buffer, Task Ended)> _lent = [];

        public void Release(byte[] buffer, ChunkPushes pushes)
        {
            if (pushes.Ended.IsCompleted)
            {
                _spare.Push(buffer);
            }
            else
            {
                _lent.Add((buffer, pushes.Ended));
            }
        }

        public async Task<byte[]> TakeAsync()
        {
            if (_spare.Count > 0)
            {
                return _spare.Pop();
            }

            if (_lent.Count >= lentMax)
            {
                await Task.WhenAny(_lent.Select(l => l.Ended));
            }

            var returned = _lent.FindIndex(l => l.Ended.IsCompleted);
            if (returned < 0)
            {
                return new byte[chunkSizeBytes];
            }

            var buffer = _lent[returned].Buffer;
            _lent.RemoveAt(returned);
            return buffer;
        }
    }

    /// <summary>
    /// Hashes one chunk of a client's file (once: the id goes on to the store), writes it durably here (as an
    /// owner, or as a hinted copy if this node owns none of it) and, in the same metadata transaction as its
    /// record, queues it for every other owner.
    /// </summary>
    private async Task<ChunkId> StoreIncomingChunkAsync(ReadOnlyMemory<byte> data, WriteTracker tracker,
        FilePath path, ChunkPushes pushes)
    {
        var chunk = await Store.HashAsync(data);
        var id = chunk.Id.Hex;
        await Store.WriteAsync(chunk);
        // Deferred: the WAL fsync of this commit is shared with the others of the upload (and made before the ack
        // by MakeDurable). A power loss before it loses the record, not the chunk: recovery registers the file.
        var commit = Meta.TransactionDeferred(
            meta => RecordLocalChunk(meta, id, data.Length, tracker.RequestId, replicate: true));
        tracker.RecordedThrough = Math.Max(tracker.RecordedThrough, commit);
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

        // A file may hold the same chunk twice: track it once, or ForgetTracker would leave the second behind.
        if (!list.Contains(tracker))
        {
            list.Add(tracker);
        }

        pushes.Ended = Task.WhenAll(PushToOwners(id, data, owners, tracker));
        _replication?.Kick();

        // Backpressure: the chunk keeps its slot until it has the copies the write waits for, so an upload goes
        // no faster than its replication and never ends with a backlog that outlasts the write timeout.
        await WaitForCopiesAsync(tracker.CopiesOf(id), tracker.Required, path);
        return chunk.Id;
    }

    /// <summary>
    /// For a write that waits for copies, pushes the chunk to its other owners straight from memory (no read-back
    /// from disk, no second hash). A <c>fast</c> write does not wait for its chunks' copies: its chunks go through
    /// the queue (read back from disk) as before, so it never holds buffers for replication.
    /// </summary>
    private List<Task> PushToOwners(string id, ReadOnlyMemory<byte> data, IReadOnlyList<NodeId> owners,
        WriteTracker tracker)
    {
        var pushes = new List<Task>();
        if (_replication is null || tracker.Required == 0)
        {
            return pushes;
        }

        foreach (var owner in owners)
        {
            if (owner != Id)
            {
                pushes.Add(_replication.PushAsync(id, owner, data));
            }
        }

        return pushes;
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

    /// <summary>
    /// Refuses a write up front (nothing stored, nothing queued) when the live ring cannot hold the copies its
    /// durability promises: a node cut off from its peers must not shrink N to itself (docs/PROTOCOL.md).
    /// </summary>
    private void EnsureEnoughMembersLive(Durability durability, string path)
    {
        var required = CopiesRequired(durability);
        var live = Cluster.Members.Count;
        if (live >= required)
        {
            return;
        }

        var unreachable = _known.Keys.Where(id => Cluster.Find(id) is null).Select(id => id.Value);
        throw new DurabilityNotMetException(
            $"write of '{path}' with durability {durability.ToString().ToLowerInvariant()} needs {required} " +
            $"copies on distinct nodes (replication factor {_options.ReplicationFactor} over {_known.Count} " +
            $"known members), but only {live} members are live; not live: {string.Join(", ", unreachable)}");
    }

    private async Task WaitForCopiesAsync(Task done, int required, FilePath path)
    {
        if (done.IsCompleted)
        {
            return;
        }

        using var cancel = new CancellationTokenSource();
        var timeout = _runtime.Clock.DelayAsync(_options.WriteTimeoutMicroseconds, cancel.Token);
        if (await Task.WhenAny(done, timeout) != done)
        {
            Metrics.WritesTimedOut++;
            throw new DurabilityNotMetException(
                $"write of '{path}' did not reach {required} copies per chunk within " +
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
        var required = CopiesRequired(durability);
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
            TrackVersion(row.Path, row.Id);
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

    /// <summary>Waits for every chunk of one write to reach its required number of owner copies.</summary>
    private sealed class WriteTracker(string requestId, int required)
    {
        private readonly SortedDictionary<string, (int Needed, SortedSet<NodeId> Owners, TaskCompletionSource Met)>
            _chunks = new(StringComparer.Ordinal);
        private readonly TaskCompletionSource _done = new();
        private int _unmet;

        public string RequestId => requestId;

        /// <summary>The metadata commit sequence of this write's last chunk record (deferred commits).</summary>
        public long RecordedThrough { get; set; }

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

        /// <summary>Completes when <paramref name="chunkId"/> (already expected) has its required copies.</summary>
        public Task CopiesOf(string chunkId) => _chunks[chunkId].Met.Task;

        public void Expect(string chunkId, int owners)
        {
            if (!_chunks.ContainsKey(chunkId))
            {
                // Never fewer than required: with fewer owners than copies promised (the live ring shrank below
                // N during the write) the chunk waits, and the write fails when its time is up.
                Invariant.That(owners >= 1, "a chunk has at least one owner");
                var needed = required;
                var met = new TaskCompletionSource();
                _chunks[chunkId] = (needed, [], met);
                if (needed > 0)
                {
                    _unmet++;
                }
                else
                {
                    met.TrySetResult();
                }
            }
        }

        public void Confirm(string chunkId, NodeId owner)
        {
            if (_chunks.TryGetValue(chunkId, out var state) && state.Owners.Add(owner)
                && state.Owners.Count == state.Needed)
            {
                _unmet--;
                state.Met.TrySetResult();
                if (_unmet == 0)
                {
                    _done.TrySetResult();
                }
            }
        }
    }
}
