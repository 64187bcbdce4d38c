using KeplerSim.Core.Runtime;

namespace KeplerSim.Core.Membership;

public sealed partial class SwimMember
{
    /// <summary>
    /// Serves a SWIM stream whose first frame the owner read from an accepted connection (check it with
    /// <see cref="IsSwimFrame"/>): a push-pull or a fallback probe. The caller keeps ownership of the connection
    /// and disposes it afterwards. Malformed input is counted; this never throws.
    /// </summary>
    public async Task HandleStreamAsync(IStreamConnection connection, ReadOnlyMemory<byte> firstFrame)
    {
        ArgumentNullException.ThrowIfNull(connection);
        if (!_started || _stopped)
        {
            return;
        }

        var frame = SwimCodec.TryDecodeFrame(firstFrame, out var error);
        try
        {
            switch (frame)
            {
                case SwimPushPull pushPull:
                    await ServePushPullAsync(connection, pushPull);
                    break;
                case SwimStreamPing ping when ping.Target == Id.Value:
                    _counters.CountReceived(SwimTraffic.StreamPing);
                    var ack = SwimCodec.EncodeFrame(new SwimStreamAck(ping.Sequence));
                    await WithTimeoutAsync(connection.SendAsync(ack), connection, "stream ack");
                    break;
                case SwimStreamPing:
                    break; // Meant for a previous owner of this address.
                default:
                    CountMalformed(connection.Remote, error ?? "unexpected first frame");
                    break;
            }
        }
        catch (Exception e) when (e is StreamBrokenException or TimeoutException or OperationCanceledException)
        {
            _counters.PushPullsFailed++;
        }
    }

    /// <summary>
    /// memberlist's TCP fallback: probes the target over a stream until the probe's end; a stream answer saves a
    /// target whose datagrams were lost from suspicion.
    /// </summary>
    private async Task StreamPingAsync(Probe probe)
    {
        var end = probe.StartMicroseconds + _awareness.Scale(_options.ProbeIntervalMicroseconds);
        var timeout = end - Now;
        if (timeout <= 0)
        {
            return;
        }

        try
        {
            using var connection = await WithTimeoutAsync(
                _runtime.Streams.ConnectAsync(probe.Target.TransferAddress), null, "connect", timeout);
            var ping = new SwimStreamPing(probe.Sequence, probe.Target.Id.Value);
            await WithTimeoutAsync(connection.SendAsync(SwimCodec.EncodeFrame(ping)), connection, "ping", end - Now);
            _counters.CountSent(SwimTraffic.StreamPing);
            var reply = await WithTimeoutAsync(connection.ReceiveAsync(), connection, "ack", end - Now);
            if (reply is { } bytes && SwimCodec.TryDecodeFrame(bytes, out _) is SwimStreamAck ack
                && ack.Sequence == probe.Sequence)
            {
                probe.StreamAcked = true;
                HeardFrom(probe.Target.Id);
            }
        }
        catch (Exception e) when (e is StreamBrokenException or TimeoutException or OperationCanceledException)
        {
            // Unreachable over streams too: the probe fails as it would have anyway.
        }
    }

    private Task<T> WithTimeoutAsync<T>(Task<T> task, IStreamConnection? connection, string what) =>
        WithTimeoutAsync(task, connection, what, _options.StreamTimeoutMicroseconds);

    private Task WithTimeoutAsync(Task task, IStreamConnection? connection, string what) =>
        WithTimeoutAsync(task, connection, what, _options.StreamTimeoutMicroseconds);

    private async Task<T> WithTimeoutAsync<T>(Task<T> task, IStreamConnection? connection, string what,
        long timeoutMicroseconds)
    {
        await WithTimeoutAsync((Task)task, connection, what, timeoutMicroseconds);
        return await task;
    }

    private async Task WithTimeoutAsync(Task task, IStreamConnection? connection, string what,
        long timeoutMicroseconds)
    {
        if (!task.IsCompleted)
        {
            using var cancel = new CancellationTokenSource();
            var timeout = _runtime.Clock.DelayAsync(Math.Max(0, timeoutMicroseconds), cancel.Token);
            if (await Task.WhenAny(task, timeout) != task)
            {
                connection?.Dispose();
                _runtime.Supervisor.Run("swim.abandoned", () => ObserveAbandonedAsync(task));
                throw new TimeoutException($"SWIM stream {what} timed out");
            }

            cancel.Cancel();
        }

        await task;
    }

    /// <summary>Observes an abandoned task's failure on the node's own thread (no unobserved exceptions); a connect
    /// that completes after it was abandoned is closed (nobody will use it).</summary>
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
        catch (Exception e) when (e is StreamBrokenException or OperationCanceledException)
        {
            // Abandoned on timeout; its failure is expected.
        }
    }
}
