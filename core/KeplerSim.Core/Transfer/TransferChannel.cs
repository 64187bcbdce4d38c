using KeplerSim.Core.Node;
using KeplerSim.Core.Protocol;
using KeplerSim.Core.Runtime;

namespace KeplerSim.Core.Transfer;

/// <summary>
/// What both ends of the transfer protocol share: connecting to a peer, bounding every step by the transfer
/// timeout, cutting chunk bytes into data frames, and telling the failures the world causes from bugs.
/// </summary>
internal sealed class TransferChannel(NodeRuntime runtime, KeplerOptions options, Func<NodeId, NetAddress> addressOf)
{
    /// <summary>Opens a connection to <paramref name="node"/>'s transfer address, bounded by the timeout.</summary>
    public Task<IStreamConnection> ConnectAsync(NodeId node) =>
        WithTimeoutAsync(runtime.Streams.ConnectAsync(addressOf(node)), null, "connect to " + node);

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
}
