using KeplerSim.Core.Manifests;
using KeplerSim.Core.Node;
using KeplerSim.Core.Runtime;
using KeplerSim.Core.Storage;

namespace KeplerSim.Core.Write;

/// <summary>
/// One client write (a PUT) on the node that accepted it, from its first chunk to its acknowledgement: cuts the
/// stream into chunks, stores each here (owned, or as a hinted copy) with its queue entries for the other owners,
/// pushes it to them straight from memory, counts their durable copies, waits until the durability is met, makes
/// the records durable and publishes the manifest. Read it top-down: <see cref="RunAsync"/>, then
/// <c>StoreChunksAsync</c>, then <c>StoreChunkAsync</c>. The receiving side is <c>Transfer/TransferServer.cs</c>.
/// </summary>
internal sealed class FileWrite
{
    private readonly IWriteContext _node;
    private readonly IChunkPusher? _pusher;
    private readonly KeplerOptions _options;
    private readonly FilePath _path;
    private readonly Durability _durability;
    private readonly WriteTracker _tracker;

    /// <summary>
    /// A write of <paramref name="path"/> whose chunks each need <paramref name="copiesRequired"/> durable owner
    /// copies before the acknowledgement (0 for <c>fast</c>: one durable copy here, the rest queued), pushed to
    /// the other owners by <paramref name="pusher"/> (none before the node started).
    /// </summary>
    public FileWrite(IWriteContext node, IChunkPusher? pusher, KeplerOptions options, string requestId,
        FilePath path, Durability durability, int copiesRequired)
    {
        _node = node;
        _pusher = pusher;
        _options = options;
        _path = path;
        _durability = durability;
        _tracker = new WriteTracker(requestId, copiesRequired);
    }

    /// <summary>
    /// Attributes to store with the version, asked for once the content has been read to its end (an S3 ETag is
    /// the MD5 of the whole body); null for none.
    /// </summary>
    public Func<IReadOnlyDictionary<string, string>?>? Attributes { get; init; }

    /// <summary>
    /// Stores <paramref name="content"/> and returns the published manifest once the durability is met; throws
    /// <see cref="DurabilityNotMetException"/> when the copies or the manifest's do not arrive in time.
    /// </summary>
    public async Task<Manifest> RunAsync(Stream content)
    {
        var startedAt = _node.Clock.MonotonicMicroseconds;
        ChunkList chunks;
        try
        {
            chunks = await StoreChunksAsync(content);
            await WaitForCopiesAsync(_tracker.Done);
            RequireWithinGcGrace(startedAt);
        }
        catch
        {
            // No manifest of this write exists (it is made below): whatever it stored is an orphan unless another
            // write or a manifest needs it.
            _node.AbandonWrite(_tracker.RequestId, _tracker.ChunkIds.ToList());
            throw;
        }
        finally
        {
            _node.Pending.Remove(_tracker);
        }

        // Every chunk record and queue entry of this write is durable before its manifest goes anywhere.
        _node.MakeDurable(_tracker.RecordedThrough);
        var manifest = _node.NewVersion(_path, chunks);
        if (Attributes?.Invoke() is { Count: > 0 } attributes)
        {
            manifest = manifest.WithAttributes(attributes);
        }

        // The manifest needs as many holders as each chunk needs copies ('fast': this node's), fixed at the start.
        await _node.PublishManifestAsync(manifest, Math.Max(1, _tracker.Required));
        RequireWithinGcGrace(startedAt);
        _node.Metrics.WritesAcknowledged++;
        _node.Events.Publish(new WriteAcknowledged(_path.Value, manifest.Version.ToString(), _durability.ToString(),
            manifest.Chunks.Count, manifest.SizeBytes));
        return manifest;
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
    private async Task<ChunkList> StoreChunksAsync(Stream content)
    {
        var builder = new ChunkListBuilder(_options.ChunkSizeBytes);
        var inFlight = new Queue<(Chunk Chunk, byte[] Buffer, Task<ChunkId> Stored, ChunkPushes Pushes)>();
        using var buffers = new UploadBuffers(_options.ChunkSizeBytes, _options.UploadChunksInFlight,
            _node.UploadBudget);
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

                var next = await buffers.TakeAsync(inFlight.Count);
                while (next is null)
                {
                    // The node's upload budget is spent: reuse this upload's oldest buffer instead of a new one.
                    var (oldest, oldestPushes) = await CollectOldestAsync(inFlight, builder);
                    buffers.Release(oldest, oldestPushes);
                    next = await buffers.TakeAsync(inFlight.Count);
                }

                var filled = await content.ReadAtLeastAsync(next, next.Length, throwOnEndOfStream: false);
                if (filled == 0)
                {
                    buffers.Release(next, new ChunkPushes()); // Unused: spare, kept for the next upload.
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
                    StoreChunkAsync(data, chunkPushes), chunkPushes));
                _node.Metrics.UploadChunksInFlightPeak =
                    Math.Max(_node.Metrics.UploadChunksInFlightPeak, inFlight.Count);
                offsetBytes += filled;
                if (filled < next.Length)
                {
                    break; // ReadAtLeastAsync returns less than asked only at the end of the stream.
                }
            }

            while (inFlight.Count > 0)
            {
                // Released, so the upload's end keeps them for the next one: dropping the last chunks' buffers here
                // made every single-chunk upload allocate and zero a fresh chunk-size buffer (issue 14).
                var (buffer, pushes) = await CollectOldestAsync(inFlight, builder);
                buffers.Release(buffer, pushes);
            }
        }
        catch
        {
            await DrainAsync(inFlight);
            throw;
        }

        return builder.Build();
    }

    /// <summary>Lets the chunks still in flight finish before a failure propagates.</summary>
    private static async Task DrainAsync(
        Queue<(Chunk Chunk, byte[] Buffer, Task<ChunkId> Stored, ChunkPushes Pushes)> inFlight)
    {
        foreach (var (_, _, stored, _) in inFlight)
        {
            try
            {
                await stored;
            }
            catch (Exception)
            {
                // Already failing: the first failure is the one reported; theirs add nothing new.
            }
        }
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

    /// <summary>
    /// Stores one chunk of the client's file durably here (hashed once: the id goes on to the store), records it
    /// and, in the same metadata commit, queues it for every other owner; then pushes it to them from memory and
    /// waits until it has the copies the write needs.
    /// </summary>
    private async Task<ChunkId> StoreChunkAsync(ReadOnlyMemory<byte> data, ChunkPushes pushes)
    {
        var chunkId = await _node.StoreChunkAsync(data);
        var id = chunkId.Hex;
        // Deferred: the WAL fsync of this commit is shared with the others of the upload (and made before the ack
        // by MakeDurable). A power loss before it loses the record, not the chunk: recovery registers the file.
        var commit = _node.RecordChunk(id, data.Length, _tracker.RequestId);
        _tracker.RecordedThrough = Math.Max(_tracker.RecordedThrough, commit);
        var owners = _node.OwnersOf(id);
        _tracker.Expect(id, owners.Count);
        if (owners.Contains(_node.Self))
        {
            _tracker.Confirm(id, _node.Self);
        }

        _node.Pending.Add(id, _tracker);
        pushes.Ended = Task.WhenAll(PushToOwners(id, data, owners));
        _node.KickReplication();

        // Backpressure: the chunk keeps its slot until it has the copies the write waits for, so an upload goes
        // no faster than its replication and never ends with a backlog that outlasts the write timeout.
        await WaitForCopiesAsync(_tracker.CopiesOf(id));
        return chunkId;
    }

    /// <summary>
    /// For a write that waits for copies, pushes the chunk to its other owners straight from memory (no read-back
    /// from disk, no second hash). A <c>fast</c> write does not wait for its chunks' copies: its chunks go through
    /// the queue (read back from disk), so it never holds buffers for replication.
    /// </summary>
    private List<Task> PushToOwners(string id, ReadOnlyMemory<byte> data, IReadOnlyList<NodeId> owners)
    {
        var pushes = new List<Task>();
        if (_pusher is null || _tracker.Required == 0)
        {
            return pushes;
        }

        foreach (var owner in owners)
        {
            if (owner != _node.Self)
            {
                pushes.Add(_pusher.PushAsync(id, owner, data));
            }
        }

        return pushes;
    }

    /// <summary>
    /// A peer keeps a chunk no manifest references for the gc grace only (GarbageCollector): a write that took
    /// longer (its node paused, SIGSTOP or a long stall, between storing its chunks and publishing its manifest) may
    /// have lost copies it counted, so it is not acknowledged: checked before the manifest is published (the write
    /// is abandoned, nothing is published) and again before the acknowledgement (a stall while publishing; the
    /// manifest is out then, and repair restores what it can from this node's copies). Found by the chaos property (seed adEOvMQlzJV1: a writer paused 3.4 s with a
    /// 1.9 s gc grace acknowledged an all write whose copies its peer had collected;
    /// scenarios/regressions/paused-writer-outlives-gc-grace.yaml).
    /// </summary>
    private void RequireWithinGcGrace(long startedAt)
    {
        var took = _node.Clock.MonotonicMicroseconds - startedAt;
        if (took >= _options.GcGraceMicroseconds)
        {
            _node.Metrics.WritesTimedOut++;
            throw new DurabilityNotMetException(
                $"write of '{_path.Value}' took {took / 1000} ms, longer than the gc grace " +
                $"({_options.GcGraceMicroseconds / 1000} ms): copies it counted may have been collected");
        }
    }

    private async Task WaitForCopiesAsync(Task done)
    {
        if (done.IsCompleted)
        {
            return;
        }

        using var cancel = new CancellationTokenSource();
        var timeout = _node.Clock.DelayAsync(_options.WriteTimeoutMicroseconds, cancel.Token);
        if (await Task.WhenAny(done, timeout) != done)
        {
            _node.Metrics.WritesTimedOut++;
            throw new DurabilityNotMetException(
                $"write of '{_path.Value}' did not reach {_tracker.Required} copies per chunk within " +
                $"{_options.WriteTimeoutMicroseconds / 1000} ms; its data stays queued for replication");
        }

        cancel.Cancel();
    }
}
