using KeplerSim.Core.Manifests;
using KeplerSim.Core.Membership;
using KeplerSim.Core.Protocol;
using KeplerSim.Core.Runtime;
using KeplerSim.Core.Storage;

namespace KeplerSim.Core.Node;

public sealed partial class KeplerNode
{
    /// <summary>Chunks received at once; more offers are answered "busy" (the sender backs off).</summary>
    public const int IncomingStoresMax = 64;

    private readonly SortedSet<string> _incoming = new(StringComparer.Ordinal);

    // ---- Client side --------------------------------------------------------------------------------------

    /// <summary>Sends one request on a fresh connection and waits (bounded) for its reply.</summary>
    private async Task<TReply> RequestAsync<TReply>(NodeId node, TransferFrame request)
        where TReply : TransferFrame
    {
        using var connection = await WithTimeoutAsync(
            _runtime.Streams.ConnectAsync(TransferAddressOf(node)), null, "connect to " + node);
        await WithTimeoutAsync(connection.SendAsync(request), connection, "send to " + node);
        return await WithTimeoutAsync(connection.ReceiveAsync<TReply>(), connection, "reply from " + node);
    }

    /// <summary>
    /// Offers a chunk to <paramref name="node"/> and streams its bytes (loaded only if the node lacks it, after
    /// <paramref name="beforeData"/> — the bandwidth cap). Null when the node reports the chunk durable; else why
    /// not.
    /// </summary>
    internal async Task<string?> SendChunkAsync(NodeId node, string id, long sizeBytes,
        Func<Task<ReadOnlyMemory<byte>?>> load, Func<long, Task> beforeData)
    {
        using var connection = await WithTimeoutAsync(
            _runtime.Streams.ConnectAsync(TransferAddressOf(node)), null, "connect to " + node);
        await WithTimeoutAsync(connection.SendAsync(new StoreChunkRequest(id, sizeBytes, Id.Value)), connection,
            "send to " + node);
        var answer = await WithTimeoutAsync(connection.ReceiveAsync<TransferFrame>(), connection, "offer reply");
        if (answer is StoreChunkReply early)
        {
            return early.Durable && early.ChunkId == id ? null : early.Error ?? "refused";
        }

        if (answer is not StoreChunkReady || await load() is not { } data || data.Length != sizeBytes)
        {
            return answer is StoreChunkReady ? "local copy unavailable" : "unexpected offer reply";
        }

        await beforeData(data.Length);
        var segment = SegmentBytes();
        for (var at = 0; at < data.Length; at += segment)
        {
            var part = data.Slice(at, Math.Min(segment, data.Length - at));
            await WithTimeoutAsync(connection.SendAsync(new ChunkDataFrame(part)), connection, "send to " + node);
        }

        var reply = await WithTimeoutAsync(connection.ReceiveAsync<StoreChunkReply>(), connection,
            "store reply from " + node);
        return reply.Durable && reply.ChunkId == id ? null : reply.Error ?? "refused";
    }

    /// <summary>Fetches and verifies a chunk from <paramref name="node"/>; null if it is missing, bad or slow.</summary>
    private async Task<byte[]?> FetchChunkAsync(NodeId node, string id)
    {
        try
        {
            using var connection = await WithTimeoutAsync(
                _runtime.Streams.ConnectAsync(TransferAddressOf(node)), null, "connect to " + node);
            await WithTimeoutAsync(connection.SendAsync(new FetchChunkRequest(id)), connection, "send to " + node);
            var reply = await WithTimeoutAsync(connection.ReceiveAsync<FetchChunkReply>(), connection,
                "fetch reply from " + node);
            if (!reply.Found || reply.SizeBytes is < 0 or > ChunkStore.ChunkSizeBytesMax)
            {
                return null;
            }

            var data = new byte[reply.SizeBytes];
            for (var at = 0; at < data.Length;)
            {
                var frame = await WithTimeoutAsync(connection.ReceiveAsync<ChunkDataFrame>(), connection,
                    "chunk data from " + node);
                if (frame.Data.Length == 0 || at + frame.Data.Length > data.Length)
                {
                    throw new ProtocolException("chunk data overruns the announced size");
                }

                frame.Data.CopyTo(data.AsMemory(at));
                at += frame.Data.Length;
            }

            // Never trust a replica: the bytes must hash to the id.
            return (await Store.HashAsync(data)).Id.Hex == id ? data : null;
        }
        catch (Exception e) when (IsTransferFailure(e))
        {
            return null;
        }
    }

    private int SegmentBytes() => Math.Min(FrameCodec.DataFrameBytesMax, _runtime.Streams.MaxFrameBytes - 64);

    private static bool IsTransferFailure(Exception e) =>
        e is StreamBrokenException or ProtocolException or TimeoutException or IOException;

    /// <summary>
    /// Awaits <paramref name="task"/> for at most the transfer timeout; on timeout the connection is closed (so
    /// the operation fails on its own) and <see cref="TimeoutException"/> is thrown.
    /// </summary>
    private async Task<T> WithTimeoutAsync<T>(Task<T> task, IStreamConnection? connection, string what)
    {
        await WithTimeoutAsync((Task)task, connection, what);
        return await task;
    }

    private async Task WithTimeoutAsync(Task task, IStreamConnection? connection, string what)
    {
        if (task.IsCompleted)
        {
            await task;
            return;
        }

        using var cancel = new CancellationTokenSource();
        var limit = _runtime.Buggify.Hit("transfer.short_timeout")
            ? _options.TransferTimeoutMicroseconds / 100
            : _options.TransferTimeoutMicroseconds;
        var timeout = _runtime.Clock.DelayAsync(limit, cancel.Token);
        if (await Task.WhenAny(task, timeout) != task)
        {
            connection?.Dispose();
            _runtime.Supervisor.Run("transfer.abandoned", () => ObserveAbandonedAsync(task));
            throw new TimeoutException($"{what} timed out");
        }

        cancel.Cancel();
        await task;
    }

    /// <summary>Observes an abandoned task's failure on the node's own thread (no unobserved exceptions).</summary>
    private static async Task ObserveAbandonedAsync(Task task)
    {
        try
        {
            await task;
        }
        catch (Exception e) when (IsTransferFailure(e) || e is OperationCanceledException)
        {
            // The operation was abandoned on timeout; its failure is expected.
        }
    }

    // ---- Server side --------------------------------------------------------------------------------------

    private async Task ServeAsync(IStreamConnection connection)
    {
        using (connection)
        {
            try
            {
                var first = await WithTimeoutAsync(connection.ReceiveAsync(), connection, "request");
                if (first is not { } bytes)
                {
                    return;
                }

                if (_swim is not null && SwimMember.IsSwimFrame(bytes))
                {
                    await _swim.HandleStreamAsync(connection, bytes);
                    return;
                }

                await DispatchAsync(connection, FrameCodec.Decode(bytes));
            }
            catch (Exception e) when (e is ProtocolException or InvalidManifestException)
            {
                Metrics.MalformedFrames++;
                _runtime.Events.Publish(new MalformedFrame(connection.Remote.Host, e.Message));
            }
            catch (Exception e) when (IsTransferFailure(e))
            {
                // The peer went away or stalled; it will retry.
            }
        }
    }

    private Task DispatchAsync(IStreamConnection connection, TransferFrame request) => request switch
    {
        StoreChunkRequest store => ServeStoreAsync(connection, store),
        FetchChunkRequest fetch => ServeFetchAsync(connection, fetch),
        PutManifestRequest put => ServePutManifestAsync(connection, put),
        GetManifestRequest get => ServeGetManifestAsync(connection, get),
        SyncRequest sync => ServeSyncAsync(connection, sync),
        _ => throw new ProtocolException($"unexpected first frame {request.GetType().Name}"),
    };

    private async Task ServeStoreAsync(IStreamConnection connection, StoreChunkRequest request)
    {
        if (!ChunkStore.IsValidId(request.ChunkId) || request.SizeBytes is < 0 or > ChunkStore.ChunkSizeBytesMax)
        {
            throw new ProtocolException($"bad store request for '{request.ChunkId}' of {request.SizeBytes} bytes");
        }

        if (_incoming.Contains(request.ChunkId) || _incoming.Count >= IncomingStoresMax)
        {
            // Someone else is sending it (or we are saturated): the sender retries later and then finds it here.
            await connection.SendAsync(new StoreChunkReply(request.ChunkId, false, "busy"));
            return;
        }

        _incoming.Add(request.ChunkId);
        try
        {
            var (error, onRecord) = await ReceiveChunkAsync(connection, request);
            if (error is null && !onRecord)
            {
                // Deferred (no WAL fsync per chunk received): the reply below promises only the chunk's file, which
                // is durable (fsync, rename, directory fsync). After a power loss that takes this record, startup
                // recovery registers the file again with the very same record (ChunkIndex.MarkPresent: owned as
                // is, hinted queued for its owners) before the node serves anything.
                Meta.TransactionDeferred(meta =>
                    RecordLocalChunk(meta, request.ChunkId, request.SizeBytes, requestId: null, replicate: false));
                _replication?.Kick();
            }

            if (_runtime.Buggify.Hit("transfer.drop_store_ack"))
            {
                return; // The chunk is durable but the sender never hears so: it must retry, and we must be idempotent.
            }

            await connection.SendAsync(new StoreChunkReply(request.ChunkId, error is null, error));
        }
        finally
        {
            _incoming.Remove(request.ChunkId);
        }
    }

    /// <summary>
    /// Error null when the chunk is durable here (already, or after receiving it), else why not; OnRecord when it
    /// was confirmed from an index row that still exists (nothing to record).
    /// </summary>
    private async Task<(string? Error, bool OnRecord)> ReceiveChunkAsync(IStreamConnection connection,
        StoreChunkRequest request)
    {
        // With scrub on, a chunk on record here (verified when it was written or recovered) whose file still has the
        // offered size is confirmed from the index: scrub and reads re-verify bytes, not every offer. The periodic
        // repair scan offers every chunk to every other owner, and verifying each offer read and hashed the whole
        // chunk on the receiver (a storm of reads during uploads). With scrub off, offers are what finds a rotten
        // copy (chaos: corrupt_chunks_repaired), so they verify; so does a chunk not on record.
        if (_options.ScrubChunksPerSecond > 0 && IsOnRecord(request))
        {
            // Scrub may have dropped the row (a corrupt copy) while the file was checked: then the bytes are
            // received again below, as they are when the file is gone or of another size. Recording the row again
            // here would leave a row whose file scrub deletes (chaos: scenarios/regressions/offer-races-scrub.yaml).
            if (await Store.ConfirmPresentAsync(request.ChunkId, request.SizeBytes) && IsOnRecord(request))
            {
                return (null, true);
            }
        }
        else if (await Store.ConfirmDurableAsync(request.ChunkId))
        {
            return (null, false);
        }

        await connection.SendAsync(new StoreChunkReady(request.ChunkId));
        await using var writer = await Store.BeginWriteAsync(request.ChunkId);
        for (long received = 0; received < request.SizeBytes;)
        {
            var frame = await WithTimeoutAsync(connection.ReceiveAsync<ChunkDataFrame>(), connection, "chunk data");
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
            return (null, false);
        }
        catch (ChunkMismatchException)
        {
            Metrics.ChunksRejected++;
            _runtime.Events.Publish(new ChunkRejected(request.ChunkId, request.Sender, "hash mismatch"));
            return ("mismatch: the bytes do not hash to the chunk id", false);
        }
    }

    /// <summary>Whether this node's index has the offered chunk with the offered size.</summary>
    private bool IsOnRecord(StoreChunkRequest request) =>
        Meta.GetChunk(request.ChunkId) is { } known && known.SizeBytes == request.SizeBytes;

    private async Task ServeFetchAsync(IStreamConnection connection, FetchChunkRequest request)
    {
        using var result = ChunkStore.IsValidId(request.ChunkId) ? await Store.ReadAsync(request.ChunkId) : default;
        if (!result.IsOk)
        {
            await connection.SendAsync(new FetchChunkReply(request.ChunkId, false, 0, result.Status.ToString()));
            return;
        }

        var data = result.Data;
        await connection.SendAsync(new FetchChunkReply(request.ChunkId, true, data.Length, null));
        var segment = SegmentBytes();
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


        ApplyManifest(manifest);
        await connection.SendAsync(new PutManifestReply(true, null));
    }

    private async Task ServeGetManifestAsync(IStreamConnection connection, GetManifestRequest request)
    {
        byte[]? bytes = null;
        if (FilePath.TryParse(request.Path, out var path, out _) && Meta.GetWinner(path.Value) is { } row)
        {
            bytes = ManifestCodec.Encode(FromRow(row));
        }

        await connection.SendAsync(new GetManifestReply(bytes));
    }
}
