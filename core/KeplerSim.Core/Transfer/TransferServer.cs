using KeplerSim.Core.Manifests;
using KeplerSim.Core.Membership;
using KeplerSim.Core.Metadata;
using KeplerSim.Core.Node;
using KeplerSim.Core.Protocol;
using KeplerSim.Core.Runtime;
using KeplerSim.Core.Storage;

namespace KeplerSim.Core.Transfer;

/// <summary>What the receiving side of the transfer protocol needs from its node.</summary>
internal interface ITransferServerContext
{
    /// <summary>The local chunk files.</summary>
    ChunkStore Store { get; }

    /// <summary>The node's metadata.</summary>
    MetadataStore Meta { get; }

    /// <summary>The SWIM member that serves membership streams, when membership is dynamic.</summary>
    SwimMember? Membership { get; }

    /// <summary>Counters for metrics.</summary>
    NodeMetrics Metrics { get; }

    /// <summary>
    /// Records a replica received from a peer, now durable here (owned, or hinted and queued for its owners), in a
    /// deferred metadata commit.
    /// </summary>
    void RecordReceivedChunk(string chunkId, long sizeBytes);

    /// <summary>
    /// A peer's write <paramref name="requestId"/> (null: no write) stored or counted this node's copy of the chunk;
    /// <paramref name="created"/>: the copy is the first this node has (orphan collection).
    /// </summary>
    void ChunkClaimed(string chunkId, string? requestId, bool created);

    /// <summary>A peer abandoned write <paramref name="requestId"/>: its claims on the chunks end.</summary>
    void ChunksAbandoned(string requestId, IReadOnlyList<string> chunkIds);

    /// <summary>Whether the chunk is being deleted right now (a store of it is answered "busy").</summary>
    bool IsCollecting(string chunkId);

    /// <summary>Records a manifest version a peer sent.</summary>
    void ApplyManifest(Manifest manifest);

    /// <summary>This node's current version of <paramref name="path"/>, or null.</summary>
    Manifest? WinnerOf(FilePath path);

    /// <summary>Answers a peer's anti-entropy round.</summary>
    Task ServeSyncAsync(IStreamConnection connection, SyncRequest request);
}

/// <summary>
/// The receiving side of the transfer protocol: requests served one after another on each accepted connection (a
/// chunk offered or fetched, a page of chunks offered by a repair scan, a manifest pushed or asked for, an
/// anti-entropy round), until the peer closes it, it stays idle for
/// <see cref="TransferConnectionPool.ServedIdleMicrosecondsMax"/>, or a request fails; or one SWIM stream. A chunk is
/// acknowledged (<see cref="StoreChunkReply"/> durable) only once its file is durable here.
/// </summary>
internal sealed class TransferServer(ITransferServerContext node, TransferChannel channel, NodeRuntime runtime,
    KeplerOptions options)
{
    /// <summary>Chunks received at once; more offers are answered "busy" (the sender backs off).</summary>
    public const int IncomingStoresMax = 64;

    private const int RequestIdLengthMax = 256;
    private const string NodeLimit = "node"; // The limit a refusal or an eviction names: the node's cap ...
    private const string PeerLimit = "peer"; // ... or one remote host's.
    private readonly SortedSet<string> _incoming = new(StringComparer.Ordinal);
    private readonly SortedDictionary<long, Served> _served = [];
    private readonly SortedDictionary<string, int> _servedFrom = new(StringComparer.Ordinal);
    private readonly LinkedList<Served> _idle = new(); // Oldest first: each joins at the end when it goes idle.
    private long _nextServed;
    private bool _closed;

    /// <summary>Serves every connection peers open to this node (<see cref="Accept"/>).</summary>
    public void Listen() => runtime.Streams.SetAcceptor(Accept);

    /// <summary>Connections being served right now; each is forgotten when it ends (or is evicted).</summary>
    public int ServedConnections => _served.Count;

    /// <summary>
    /// Serves an accepted connection as a supervised task, within the caps: the node serves at most
    /// <see cref="KeplerOptions.ServedConnectionsMax"/> connections, and at most
    /// <see cref="KeplerOptions.ServedConnectionsPerPeerMax"/> from one remote host. At a cap the connection idle the
    /// longest (between exchanges, or still silent before its first frame; from that host at the host's cap) is
    /// closed to make room (<see cref="TransferConnectionEvicted"/>): a peer's pooled connections must not shut out
    /// the peers that hold none. Only when every connection under the cap is mid-exchange is the new one refused:
    /// closed at once, before its handshake or any read, counted and published
    /// (<see cref="TransferConnectionRefused"/>). Either way the peer sees a connection closed before any reply and
    /// retries as after any broken connection. Without the caps a client (any one, without a cluster key) could hold
    /// thousands of connections open for the served idle limit each (docs/SECURITY.md, "Connection floods").
    /// </summary>
    public void Accept(IStreamConnection connection)
    {
        var host = connection.Remote.Host;
        var fromHost = _servedFrom.GetValueOrDefault(host);
        if (fromHost >= options.ServedConnectionsPerPeerMax && !Evict(host, PeerLimit))
        {
            Refuse(connection, host, PeerLimit, fromHost);
            return;
        }

        if (_served.Count >= options.ServedConnectionsMax && !Evict(null, NodeLimit))
        {
            Refuse(connection, host, NodeLimit, _served.Count);
            return;
        }

        var served = new Served(_nextServed++, host, connection);
        _served.Add(served.Id, served);
        fromHost = _servedFrom.GetValueOrDefault(host) + 1;
        _servedFrom[host] = fromHost;
        var metrics = node.Metrics;
        metrics.TransferConnectionsServedPeak = Math.Max(metrics.TransferConnectionsServedPeak, _served.Count);
        metrics.TransferConnectionsServedPerPeerPeak =
            Math.Max(metrics.TransferConnectionsServedPerPeerPeak, fromHost);
        runtime.Supervisor.Run("transfer.serve", () => ServeAsync(served));
    }

    /// <summary>
    /// Closes the connection idle the longest (from <paramref name="host"/>, or any when null) and forgets it at once;
    /// false when none is idle. Its serving task ends when its wait fails or times out, holding no place meanwhile.
    /// </summary>
    private bool Evict(string? host, string limit)
    {
        var oldest = _idle.First;
        while (oldest is not null && host is not null && oldest.Value.Host != host)
        {
            oldest = oldest.Next;
        }

        if (oldest?.Value is not { } served)
        {
            return false;
        }

        Forget(served);
        served.Evicted = true;
        served.Connection.Dispose();
        var metrics = node.Metrics;
        if (limit == NodeLimit)
        {
            metrics.TransferConnectionsEvictedNode++;
        }
        else
        {
            metrics.TransferConnectionsEvictedPeer++;
        }

        runtime.Events.Publish(new TransferConnectionEvicted(served.Host, limit,
            metrics.TransferConnectionsEvictedNode + metrics.TransferConnectionsEvictedPeer));
        return true;
    }

    private void Refuse(IStreamConnection connection, string host, string limit, int served)
    {
        connection.Dispose();
        var metrics = node.Metrics;
        if (limit == NodeLimit)
        {
            metrics.TransferConnectionsRefusedNode++;
        }
        else
        {
            metrics.TransferConnectionsRefusedPeer++;
        }

        runtime.Events.Publish(new TransferConnectionRefused(host, limit, served,
            metrics.TransferConnectionsRefusedNode + metrics.TransferConnectionsRefusedPeer));
    }

    /// <summary>Gives up a served connection's place: it ended, or was evicted.</summary>
    private void Forget(Served served)
    {
        SetIdle(served, false);
        _served.Remove(served.Id);
        if (_servedFrom[served.Host] == 1)
        {
            _servedFrom.Remove(served.Host);
        }
        else
        {
            _servedFrom[served.Host]--;
        }
    }

    /// <summary>Marks a served connection as waiting for a request (evictable), or as mid-exchange.</summary>
    private void SetIdle(Served served, bool idle)
    {
        if (idle && served.Idle is null && !served.Evicted)
        {
            served.Idle = _idle.AddLast(served);
        }
        else if (!idle && served.Idle is { } entry)
        {
            _idle.Remove(entry);
            served.Idle = null;
        }
    }

    /// <summary>A connection being served: its place under the caps, and whether it waits for a request.</summary>
    private sealed class Served(long id, string host, IStreamConnection connection)
    {
        public long Id => id;

        public string Host => host;

        public IStreamConnection Connection => connection;

        /// <summary>Its entry in the idle list while it waits for a request, else null.</summary>
        public LinkedListNode<Served>? Idle { get; set; }

        /// <summary>Whether it was closed to make room: its place is already given up.</summary>
        public bool Evicted { get; set; }
    }

    /// <summary>Whether a peer is sending this node the chunk right now.</summary>
    public bool IsReceiving(string chunkId) => _incoming.Contains(chunkId);

    /// <summary>
    /// Reserves a local write of <paramref name="chunkId"/> made outside the transfer protocol (a read or scrub
    /// repair): false when a peer is storing it here right now (that store writes and records the copy). While it
    /// is reserved, peers' stores of it are answered "busy". Two writers of one chunk file raced their renames: the
    /// second replaced a recorded, durable file by one not yet durable (chaos-swim-buggify seed 11, once transfer
    /// connections were reused and a read repair's fetch came back sooner).
    /// </summary>
    public bool TryReserve(string chunkId) => _incoming.Add(chunkId);

    /// <summary>Ends a reservation made by <see cref="TryReserve"/>.</summary>
    public void Release(string chunkId) => _incoming.Remove(chunkId);

    /// <summary>Closes every served connection (the node stops); later ones are closed at once.</summary>
    public void Close()
    {
        _closed = true;
        foreach (var served in _served.Values.ToList())
        {
            served.Connection.Dispose();
        }
    }

    /// <summary>
    /// Serves one accepted connection to its end: its first frame within the transfer timeout, each later request
    /// within the idle limit. Failures the world causes end it quietly; a frame that breaks the protocol is counted
    /// and ends it too (nothing it asked for half-way is applied).
    /// </summary>
    private async Task ServeAsync(Served served)
    {
        var connection = served.Connection;
        using (connection)
        {
            try
            {
                SetIdle(served, true); // Silent so far: evictable until its first frame.
                var first = _closed
                    ? null
                    : await channel.WithTimeoutAsync(connection.ReceiveAsync(), connection, "request");
                SetIdle(served, false);
                if (first is not { } bytes || served.Evicted)
                {
                    return;
                }

                if (node.Membership is { } swim && SwimMember.IsSwimFrame(bytes))
                {
                    await swim.HandleStreamAsync(connection, bytes);
                    return;
                }

                while (!_closed && await DispatchAsync(connection, FrameCodec.Decode(bytes))
                       && await NextRequestAsync(served) is { } next)
                {
                    bytes = next;
                }
            }
            catch (Exception e) when (e is ProtocolException or InvalidManifestException)
            {
                node.Metrics.MalformedFrames++;
                runtime.Events.Publish(new MalformedFrame(connection.Remote.Host, e.Message));
            }
            catch (Exception e) when (TransferChannel.IsTransferFailure(e))
            {
                // The peer went away or stalled (or the connection was evicted); it will retry.
            }
            finally
            {
                if (!served.Evicted)
                {
                    Forget(served);
                }
            }
        }
    }

    /// <summary>The next request on a served connection, awaited as an idle (evictable) one; null: it ends.</summary>
    private async Task<ReadOnlyMemory<byte>?> NextRequestAsync(Served served)
    {
        SetIdle(served, true);
        try
        {
            var next = await channel.NextRequestAsync(served.Connection);
            return served.Evicted ? null : next;
        }
        finally
        {
            SetIdle(served, false);
        }
    }

    /// <summary>Serves one request to its end; false when the connection must close after it.</summary>
    private async Task<bool> DispatchAsync(IStreamConnection connection, TransferFrame request)
    {
        switch (request)
        {
            case StoreChunkRequest store:
                return await ServeStoreAsync(connection, store);
            case AbandonChunksRequest abandon:
                await ServeAbandonAsync(connection, abandon);
                break;
            case OfferChunksRequest offer:
                return await ServeOfferChunksAsync(connection, offer);
            case FetchChunkRequest fetch:
                await ServeFetchAsync(connection, fetch);
                break;
            case PutManifestRequest put:
                await ServePutManifestAsync(connection, put);
                break;
            case GetManifestRequest get:
                await ServeGetManifestAsync(connection, get);
                break;
            case SyncRequest sync:
                await node.ServeSyncAsync(connection, sync);
                break;
            default:
                throw new ProtocolException($"unexpected request frame {request.GetType().Name}");
        }

        return true;
    }

    private async Task<bool> ServeStoreAsync(IStreamConnection connection, StoreChunkRequest request)
    {
        if (!ChunkStore.IsValidId(request.ChunkId) || request.SizeBytes is < 0 or > ChunkStore.ChunkSizeBytesMax
            || request.RequestId is { Length: 0 or > RequestIdLengthMax })
        {
            throw new ProtocolException($"bad store request for '{request.ChunkId}' of {request.SizeBytes} bytes");
        }

        // Before anything is recorded: the sender may own under a newer factor than this node has heard of
        // (chaos seed 8yghIn9cvoO1, scenarios/regressions/surplus-under-stale-factor.yaml).
        TransferChannel.AdoptSettings(node.Membership, request.Settings);

        if (_incoming.Contains(request.ChunkId) || _incoming.Count >= IncomingStoresMax
            || node.IsCollecting(request.ChunkId))
        {
            // Someone else is sending it (or we are saturated): the sender retries later and then finds it here.
            await connection.SendAsync(new StoreChunkReply(request.ChunkId, false, StoreChunkReply.Busy,
                node.Membership?.Settings));
            return true;
        }

        _incoming.Add(request.ChunkId);
        try
        {
            var hadCopy = node.Meta.GetChunk(request.ChunkId) is not null;
            var (error, onRecord, received) = await ReceiveChunkAsync(connection, request);
            if (error is null && !onRecord)
            {
                // A deferred commit: the reply promises the chunk's file, which is durable (see RecordReceivedChunk).
                node.RecordReceivedChunk(request.ChunkId, request.SizeBytes);
            }

            if (error is null)
            {
                // Before the reply: the sender may count this copy for its write from then on.
                node.ChunkClaimed(request.ChunkId, request.RequestId, created: !hadCopy && received);
            }

            if (runtime.Buggify.Hit("transfer.drop_store_ack"))
            {
                // The chunk is durable but the sender never hears so (the connection closes): it must retry, and we
                // must be idempotent. On a reused connection that retry can be the sender's own at once.
                return false;
            }

            await connection.SendAsync(new StoreChunkReply(request.ChunkId, error is null, error,
                node.Membership?.Settings));
            return true;
        }
        finally
        {
            _incoming.Remove(request.ChunkId);
        }
    }

    /// <summary>
    /// Error null when the chunk is durable here (already, or after receiving it), else why not; OnRecord when it
    /// was confirmed from an index row that still exists (nothing to record); Received when its bytes came now.
    /// </summary>
    private async Task<(string? Error, bool OnRecord, bool Received)> ReceiveChunkAsync(IStreamConnection connection,
        StoreChunkRequest request)
    {
        switch (await ConfirmHeldAsync(request.ChunkId, request.SizeBytes))
        {
            case Holding.OnRecord:
                return (null, true, false);
            case Holding.Verified:
                return (null, false, false);
        }

        await connection.SendAsync(new StoreChunkReady(request.ChunkId));
        await using var writer = await node.Store.BeginWriteAsync(request.ChunkId);
        for (long received = 0; received < request.SizeBytes;)
        {
            var frame = await channel.WithTimeoutAsync(connection.ReceiveAsync<ChunkDataFrame>(), connection,
                "chunk data");
            if (frame.Data.Length == 0 || received + frame.Data.Length > request.SizeBytes)
            {
                throw new ProtocolException("chunk data overruns the announced size");
            }

            await writer.AppendAsync(frame.Data);
            received += frame.Data.Length;
        }

        try
        {
            await writer.CommitAsync();
            return (null, false, true);
        }
        catch (ChunkMismatchException)
        {
            node.Metrics.ChunksRejected++;
            runtime.Events.Publish(new ChunkRejected(request.ChunkId, request.Sender, "hash mismatch"));
            return ("mismatch: the bytes do not hash to the chunk id", false, false);
        }
    }

    /// <summary>How an offered chunk is held here, without its bytes being sent.</summary>
    private enum Holding
    {
        /// <summary>Not held (absent, of another size, unverified or corrupt): the bytes must come.</summary>
        Lacking,

        /// <summary>On record with a file of the offered size, and still on record: nothing to record.</summary>
        OnRecord,

        /// <summary>A file whose bytes verified against the id: durable here, to be recorded.</summary>
        Verified,
    }

    /// <summary>
    /// Whether an offered chunk of <paramref name="sizeBytes"/> bytes is durable here already, as a store and a batched
    /// offer both answer it. With scrub on, a chunk on record here (verified when it was written or recovered) whose
    /// file still has the offered size is confirmed from the index: scrub and reads re-verify bytes, not every offer.
    /// The periodic repair scan offers every chunk to every other owner, and verifying each offer read and hashed the
    /// whole chunk on the receiver (a storm of reads during uploads). With scrub off, offers are what finds a rotten
    /// copy (chaos: corrupt_chunks_repaired), so they verify; so does a chunk not on record.
    /// </summary>
    private async Task<Holding> ConfirmHeldAsync(string chunkId, long sizeBytes)
    {
        if (options.ScrubChunksPerSecond > 0 && IsOnRecord(chunkId, sizeBytes))
        {
            // Scrub may have dropped the row (a corrupt copy) while the file was checked: then the bytes are
            // received again, as they are when the file is gone or of another size. Recording the row again here
            // would leave a row whose file scrub deletes (chaos: scenarios/regressions/offer-races-scrub.yaml).
            return await node.Store.ConfirmPresentAsync(chunkId, sizeBytes) && IsOnRecord(chunkId, sizeBytes)
                ? Holding.OnRecord
                : Holding.Lacking;
        }

        return await node.Store.ConfirmDurableAsync(chunkId) ? Holding.Verified : Holding.Lacking;
    }

    /// <summary>
    /// Answers a batched offer (docs/PROTOCOL.md, "Batched repair offers"): each chunk in turn as a store without a
    /// request id would be answered before any bytes, with the same effects for a held one (recorded when its bytes
    /// verified, claims of writes ended). A chunk being received or deleted here right now is answered lacking (a
    /// store would be answered "busy": the sender's queue offers it later). So is every chunk left when half the
    /// transfer timeout has passed, so the answer comes in time even on a slow disk. False when the connection must
    /// close after it.
    /// </summary>
    private async Task<bool> ServeOfferChunksAsync(IStreamConnection connection, OfferChunksRequest request)
    {
        if (ValidateOffer(request) is { } why)
        {
            throw new ProtocolException("bad chunk offer: " + why);
        }

        TransferChannel.AdoptSettings(node.Membership, request.Settings);
        var deadline = runtime.Clock.MonotonicMicroseconds + options.TransferTimeoutMicroseconds / 2;
        var lacking = new List<int>();
        for (var i = 0; i < request.Chunks.Length; i++)
        {
            if (!await ConfirmOfferedAsync(request.Chunks[i], deadline))
            {
                lacking.Add(i);
            }
        }

        if (runtime.Buggify.Hit("transfer.drop_offer_reply"))
        {
            // The held chunks were confirmed (and recorded) but the sender never hears so: it offers them one by
            // one, and each is answered "durable" without bytes.
            return false;
        }

        await connection.SendAsync(new OfferChunksReply([.. lacking], node.Membership?.Settings));
        return true;
    }

    /// <summary>Why a batched offer breaks the protocol, or null.</summary>
    private static string? ValidateOffer(OfferChunksRequest request)
    {
        if (request.Chunks is not { Length: > 0 and <= OfferChunksRequest.ChunksMax } chunks)
        {
            return $"1..{OfferChunksRequest.ChunksMax} chunks expected, got {request.Chunks?.Length ?? 0}";
        }

        string? previous = null;
        foreach (var chunk in chunks)
        {
            if (chunk is null || !ChunkStore.IsValidId(chunk.ChunkId)
                || chunk.SizeBytes is < 0 or > ChunkStore.ChunkSizeBytesMax)
            {
                return $"bad chunk '{chunk?.ChunkId}' of {chunk?.SizeBytes} bytes";
            }

            if (previous is not null && string.CompareOrdinal(previous, chunk.ChunkId) >= 0)
            {
                return "chunk ids not strictly ascending";
            }

            previous = chunk.ChunkId;
        }

        return null;
    }

    /// <summary>
    /// Whether one chunk of a batched offer is durable here (then recorded if it was not, and claimed by no write),
    /// reserved as a store of it would be while it is checked.
    /// </summary>
    private async Task<bool> ConfirmOfferedAsync(ChunkOffer offer, long deadline)
    {
        var id = offer.ChunkId;
        if (runtime.Clock.MonotonicMicroseconds >= deadline || node.IsCollecting(id) || !_incoming.Add(id))
        {
            return false;
        }

        try
        {
            var holding = await ConfirmHeldAsync(id, offer.SizeBytes);
            if (holding == Holding.Lacking)
            {
                return false;
            }

            if (holding == Holding.Verified)
            {
                node.RecordReceivedChunk(id, offer.SizeBytes);
            }

            node.ChunkClaimed(id, requestId: null, created: false);
            return true;
        }
        catch (IOException)
        {
            return false; // A disk error here: the single offer that follows meets it (or not) and is retried.
        }
        finally
        {
            _incoming.Remove(id);
        }
    }

    private async Task ServeAbandonAsync(IStreamConnection connection, AbandonChunksRequest request)
    {
        if (string.IsNullOrEmpty(request.RequestId) || request.RequestId.Length > RequestIdLengthMax
            || request.ChunkIds is null || request.ChunkIds.Length > AbandonChunksRequest.ChunkIdsMax
            || !request.ChunkIds.All(ChunkStore.IsValidId))
        {
            throw new ProtocolException("bad abandon request");
        }

        node.ChunksAbandoned(request.RequestId, request.ChunkIds);
        await connection.SendAsync(new AbandonChunksReply(true));
    }

    /// <summary>Whether this node's index has the offered chunk with the offered size.</summary>
    private bool IsOnRecord(string chunkId, long sizeBytes) =>
        node.Meta.GetChunk(chunkId) is { } known && known.SizeBytes == sizeBytes;

    private async Task ServeFetchAsync(IStreamConnection connection, FetchChunkRequest request)
    {
        using var result = ChunkStore.IsValidId(request.ChunkId)
            ? await node.Store.ReadAsync(request.ChunkId)
            : default;
        if (!result.IsOk)
        {
            await connection.SendAsync(new FetchChunkReply(request.ChunkId, false, 0, result.Status.ToString()));
            return;
        }

        var data = result.Data;
        await connection.SendAsync(new FetchChunkReply(request.ChunkId, true, data.Length, null));
        var segment = channel.SegmentBytes();
        for (var at = 0; at < data.Length; at += segment)
        {
            await connection.SendAsync(new ChunkDataFrame(data.Slice(at, Math.Min(segment, data.Length - at))));
        }
    }

    private async Task ServePutManifestAsync(IStreamConnection connection, PutManifestRequest request)
    {
        Manifest manifest;
        try
        {
            manifest = ManifestCodec.Decode(request.Manifest);
        }
        catch (InvalidManifestException e)
        {
            throw new ProtocolException("bad manifest: " + e.Message, e);
        }

        node.ApplyManifest(manifest);
        await connection.SendAsync(new PutManifestReply(true, null));
    }

    private async Task ServeGetManifestAsync(IStreamConnection connection, GetManifestRequest request)
    {
        byte[]? bytes = null;
        if (FilePath.TryParse(request.Path, out var path, out _) && node.WinnerOf(path) is { } winner)
        {
            bytes = ManifestCodec.Encode(winner);
        }

        await connection.SendAsync(new GetManifestReply(bytes));
    }
}
