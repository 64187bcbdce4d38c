using KeplerSim.Core.Node;
using KeplerSim.Core.Protocol;
using KeplerSim.Core.Runtime;

namespace KeplerSim.Core.Transfer;

/// <summary>
/// What both ends of the transfer protocol share: connections to peers (reused through a
/// <see cref="TransferConnectionPool"/>), bounding every step by the transfer timeout, cutting chunk bytes into data
/// frames, and telling the failures the world causes from bugs.
/// </summary>
internal sealed class TransferChannel(NodeRuntime runtime, KeplerOptions options, NodeMetrics metrics,
    Func<NodeId, NetAddress> addressOf)
{
    private readonly TransferConnectionPool _pool = new(runtime.Clock);

    /// <summary>Idle connections this node holds to its peers.</summary>
    public int PooledConnections => _pool.Idle;

    /// <summary>Idle connections this node holds to <paramref name="node"/>.</summary>
    public int PooledConnectionsTo(NodeId node) => _pool.IdleTo(node);

    /// <summary>
    /// Runs one exchange with <paramref name="node"/> on an idle connection from the pool, or a new one. The
    /// exchange calls <see cref="PooledConnection.Finish"/> once every frame of it was sent and received; only then
    /// does the connection go back to the pool, else it is closed. When a reused connection fails before any reply
    /// frame (its peer had closed or reset it: idle, restarted), the exchange runs once more on a new connection,
    /// so every exchange must be idempotent (docs/PROTOCOL.md lists them). A timeout is not retried.
    /// </summary>
    public async Task<T> ExchangeAsync<T>(NodeId node, Func<PooledConnection, Task<T>> exchange)
    {
        ArgumentNullException.ThrowIfNull(exchange);
        var address = addressOf(node);
        if (_pool.Take(node, address) is { } pooled)
        {
            metrics.TransferConnectionsReused++;
            try
            {
                return await LendAsync(pooled, reused: true, exchange);
            }
            catch (Exception e) when (!pooled.Answered && (e is StreamBrokenException
                                                          || (e is ProtocolException && pooled.PeerClosed)))
            {
                metrics.TransferConnectionsStale++;
                _pool.DiscardIdle(node);
            }
        }

        return await LendAsync(await OpenAsync(node, address), reused: false, exchange);
    }

    /// <summary>Closes the pooled connections to a peer that died, left or restarted.</summary>
    public void Drop(NodeId node) => _pool.Drop(node);

    /// <summary>Closes every pooled connection (the node stops); none is pooled afterwards.</summary>
    public void Close() => _pool.Close();

    private async Task<PooledConnection> OpenAsync(NodeId node, NetAddress address)
    {
        var connection = await WithTimeoutAsync(runtime.Streams.ConnectAsync(address), null, "connect to " + node);
        metrics.TransferConnectionsOpened++;
        return _pool.Adopt(connection, node, address);
    }

    private async Task<T> LendAsync<T>(PooledConnection connection, bool reused,
        Func<PooledConnection, Task<T>> exchange)
    {
        connection.Lend(reused);
        var clean = false;
        try
        {
            var result = await exchange(connection);
            clean = connection.Finished;
            return result;
        }
        finally
        {
            if (clean)
            {
                _pool.Return(connection);
            }
            else
            {
                connection.Dispose();
            }
        }
    }

    /// <summary>The largest chunk segment one data frame carries.</summary>
    public int SegmentBytes() => Math.Min(FrameCodec.DataFrameBytesMax, runtime.Streams.MaxFrameBytes - 64);

    /// <summary>
    /// Adopts the runtime cluster settings a peer sent with a chunk transfer, as SWIM would from its datagram
    /// (docs/PROTOCOL.md, "Runtime replication factor"); invalid settings are a protocol error.
    /// </summary>
    public static void AdoptSettings(Membership.SwimMember? membership, Membership.ClusterSettings? settings)
    {
        if (settings is null || membership is null)
        {
            return;
        }

        if (Membership.SwimCodec.Validate(settings) is { } why)
        {
            throw new ProtocolException("cluster settings on a transfer: " + why);
        }

        membership.AdoptSettings(settings);
    }

    /// <summary>A failure the world causes (a peer down, reset, slow or hostile, a disk error); not a bug.</summary>
    public static bool IsTransferFailure(Exception e) =>
        e is StreamBrokenException or ProtocolException or TimeoutException or IOException;

    /// <summary>
    /// Awaits <paramref name="task"/> for at most the transfer timeout; on timeout the connection is closed (so
    /// the operation fails on its own) and <see cref="TimeoutException"/> is thrown.
    /// </summary>
    public async Task<T> WithTimeoutAsync<T>(Task<T> task, IStreamConnection? connection, string what)
    {
        await WithTimeoutAsync((Task)task, connection, what);
        return await task;
    }

    /// <inheritdoc cref="WithTimeoutAsync{T}"/>
    public async Task WithTimeoutAsync(Task task, IStreamConnection? connection, string what)
    {
        if (task.IsCompleted)
        {
            await task;
            return;
        }

        using var cancel = new CancellationTokenSource();
        var limit = runtime.Buggify.Hit("transfer.short_timeout")
            ? options.TransferTimeoutMicroseconds / 100
            : options.TransferTimeoutMicroseconds;
        var timeout = runtime.Clock.DelayAsync(limit, cancel.Token);
        if (await Task.WhenAny(task, timeout) != task)
        {
            connection?.Dispose();
            runtime.Supervisor.Run("transfer.abandoned", () => ObserveAbandonedAsync(task));
            throw new TimeoutException($"{what} timed out");
        }

        cancel.Cancel();
        await task;
    }

    /// <summary>
    /// Waits for the next request on a served connection for at most the served idle limit: null when the peer
    /// closed it or it stayed idle that long (the caller closes it then).
    /// </summary>
    public async Task<ReadOnlyMemory<byte>?> NextRequestAsync(IStreamConnection connection)
    {
        using var cancel = new CancellationTokenSource();
        var receive = connection.ReceiveAsync(cancel.Token);
        if (receive.IsCompleted)
        {
            return await receive;
        }

        var limit = runtime.Buggify.Hit("transfer.short_idle")
            ? TransferConnectionPool.ServedIdleMicrosecondsMax / 1000
            : TransferConnectionPool.ServedIdleMicrosecondsMax;
        using var stopIdle = new CancellationTokenSource();
        var idle = runtime.Clock.DelayAsync(limit, stopIdle.Token);
        if (await Task.WhenAny(receive, idle) == receive)
        {
            stopIdle.Cancel();
            return await receive;
        }

        cancel.Cancel();
        try
        {
            await receive;
        }
        catch (Exception e) when (e is OperationCanceledException || IsTransferFailure(e))
        {
            // The idle wait was cut short on purpose; the connection is closed next.
        }

        return null;
    }

    /// <summary>
    /// Observes an abandoned task's failure on the node's own thread (no unobserved exceptions). A connect that
    /// completes after it was abandoned is closed: nobody will use it, and the peer would hold its end open for the
    /// served idle limit (seam audit, thirteenth session).
    /// </summary>
    private static async Task ObserveAbandonedAsync(Task task)
    {
        try
        {
            if (task is Task<IStreamConnection> connect)
            {
                (await connect).Dispose();
            }
            else
            {
                await task;
            }
        }
        catch (Exception e) when (IsTransferFailure(e) || e is OperationCanceledException)
        {
            // The operation was abandoned on timeout; its failure is expected.
        }
    }
}
