using KeplerSim.Core.Diagnostics;
using KeplerSim.Core.Runtime;
using MessagePack;

namespace KeplerSim.Core.Demo;

/// <summary>A demo protocol message (MessagePack union: the keys are the wire contract).</summary>
[Union(0, typeof(PingMessage))]
[Union(1, typeof(AckMessage))]
public abstract record DemoMessage;

/// <summary>A ping carrying a sequence number.</summary>
[MessagePackObject]
public sealed record PingMessage([property: Key(0)] long Sequence) : DemoMessage;

/// <summary>The answer to a ping.</summary>
[MessagePackObject]
public sealed record AckMessage([property: Key(0)] long Sequence) : DemoMessage;

/// <summary>A ping was answered.</summary>
public sealed record PingAnswered(string Peer, long Sequence, long RoundTripMicroseconds) : KeplerEvent
{
    /// <inheritdoc />
    public override string Kind => "demo.ack";
}

/// <summary>Options of the demo protocol.</summary>
public sealed record PingOptions
{
    /// <summary>Mean time between pings.</summary>
    public long PingIntervalMicroseconds { get; init; } = 100_000;

    /// <summary>How many answered pings between durable log appends.</summary>
    public int PingsPerLogAppend { get; init; } = 5;

    /// <summary>Time between stream transfers to a random peer.</summary>
    public long TransferIntervalMicroseconds { get; init; } = 1_000_000;

    /// <summary>Bytes per stream transfer.</summary>
    public int TransferBytes { get; init; } = 256 * 1024;

    /// <summary>Whether to touch the disk and streams (off for pure datagram benchmarks).</summary>
    public bool UseDiskAndStreams { get; init; } = true;
}

/// <summary>
/// A small protocol that exercises every seam (timers, datagrams, streams, disk with fsync): each node pings
/// random peers, answers pings, logs answered pings durably and streams blocks to random peers. It stands in
/// for the real protocol in kernel tests and benchmarks.
/// </summary>
public sealed class PingProtocol(NodeRuntime runtime, IReadOnlyList<NodeId> peers, PingOptions options)
    : INodeProgram
{
    private static readonly MessagePackSerializerOptions Wire = MessagePackSerializerOptions.Standard
        .WithSecurity(MessagePackSecurity.UntrustedData);

    private readonly SortedDictionary<long, long> _outstanding = [];
    private long _sequence;
    private long _answered;

    /// <summary>Pings answered by this incarnation.</summary>
    public long Answered => _answered;

    /// <summary>Datagrams that failed to decode.</summary>
    public long Malformed { get; private set; }

    /// <inheritdoc />
    public Task StartAsync()
    {
        runtime.Datagrams.SetReceiver(OnDatagram);
        runtime.Streams.SetAcceptor(connection => runtime.Supervisor.Run("demo.drain", () => DrainAsync(connection)));
        SchedulePing();
        if (options.UseDiskAndStreams)
        {
            ScheduleTransfer();
        }

        return Task.CompletedTask;
    }

    private void SchedulePing()
    {
        var delay = runtime.Random.NextLong(options.PingIntervalMicroseconds / 2, options.PingIntervalMicroseconds * 3 / 2);
        runtime.Clock.Schedule(delay, () =>
        {
            var peer = RandomPeer();
            if (peer is { } target)
            {
                var sequence = ++_sequence;
                _outstanding[sequence] = runtime.Clock.MonotonicMicroseconds;
                TrimOutstanding();
                Send(new NetAddress(target.Value, runtime.Datagrams.LocalAddress.Port), new PingMessage(sequence));
            }

            SchedulePing();
        });
    }

    private void TrimOutstanding()
    {
        while (_outstanding.Count > 1024)
        {
            _outstanding.Remove(_outstanding.Keys.First());
        }
    }

    private NodeId? RandomPeer()
    {
        if (peers.Count <= 1)
        {
            return null;
        }

        var peer = peers[runtime.Random.NextInt(peers.Count)];
        return peer == runtime.Id ? null : peer;
    }

    private void Send(NetAddress target, DemoMessage message) =>
        runtime.Datagrams.Send(target, MessagePackSerializer.Serialize(message, Wire));

    private void OnDatagram(NetAddress from, ReadOnlyMemory<byte> payload)
    {
        DemoMessage message;
        try
        {
            message = MessagePackSerializer.Deserialize<DemoMessage>(payload, Wire);
        }
        catch (MessagePackSerializationException)
        {
            Malformed++;
            return;
        }

        switch (message)
        {
            case PingMessage ping:
                Send(from, new AckMessage(ping.Sequence));
                break;
            case AckMessage ack when _outstanding.Remove(ack.Sequence, out var sentAt):
                _answered++;
                runtime.Events.Publish(new PingAnswered(from.Host, ack.Sequence,
                    runtime.Clock.MonotonicMicroseconds - sentAt));
                if (options.UseDiskAndStreams && _answered % options.PingsPerLogAppend == 0)
                {
                    runtime.Supervisor.Run("demo.append_log", () => AppendLogAsync(ack.Sequence));
                }

                break;
        }
    }

    private async Task AppendLogAsync(long sequence)
    {
        try
        {
            await runtime.Disk.CreateDirectoryAsync("log");
            var path = $"log/{sequence:D8}";
            await using var file = await runtime.Disk.CreateAsync(path + ".tmp");
            await file.AppendAsync(BitConverter.GetBytes(sequence));
            await file.FsyncAsync();
            await runtime.Disk.RenameAsync(path + ".tmp", path);
            await runtime.Disk.FsyncDirectoryAsync("log");
        }
        catch (IOException)
        {
            // A full or failing disk loses a demo log line; the protocol carries on.
        }
    }

    private void ScheduleTransfer() => runtime.Clock.Schedule(options.TransferIntervalMicroseconds,
        () => runtime.Supervisor.Run("demo.transfer", TransferAsync));

    private async Task TransferAsync()
    {
        ScheduleTransfer();
        if (RandomPeer() is not { } peer)
        {
            return;
        }

        try
        {
            using var connection = await runtime.Streams.ConnectAsync(
                new NetAddress(peer.Value, runtime.Streams.LocalAddress.Port));
            var block = new byte[Math.Min(options.TransferBytes, runtime.Streams.MaxFrameBytes)];
            runtime.Random.NextBytes(block);
            for (var sent = 0; sent < options.TransferBytes; sent += block.Length)
            {
                await connection.SendAsync(block);
            }
        }
        catch (StreamBrokenException)
        {
            // The peer crashed or a partition cut the stream; the next transfer tries again.
        }
    }

    private static async Task DrainAsync(IStreamConnection connection)
    {
        using (connection)
        {
            try
            {
                while (await connection.ReceiveAsync() is not null)
                {
                }
            }
            catch (StreamBrokenException)
            {
                // Broken streams are normal under faults.
            }
        }
    }
}
