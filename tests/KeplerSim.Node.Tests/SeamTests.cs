using System.Net;
using KeplerSim.Core.Runtime;
using KeplerSim.Node.Runtime;
using KeplerSim.Node.Tests.Support;

namespace KeplerSim.Node.Tests;

/// <summary>The real seam implementations honour the simulator's contracts.</summary>
[Trait("Category", "Real")]
public sealed class SeamTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    [Theory]
    [InlineData("../escape")]
    [InlineData("a/../../b")]
    [InlineData("/etc/passwd")]
    [InlineData("a//b")]
    [InlineData("./a")]
    [InlineData("")]
    public void Disk_paths_cannot_leave_the_data_directory(string path)
    {
        using var dir = new TempDir();
        using var loop = new EventLoop("disk");
        var disk = new LocalDisk(loop, dir.Path);
        Assert.Throws<ArgumentException>(() => disk.Resolve(path));
    }

    [Fact]
    public async Task Disk_writes_fsyncs_renames_and_completes_on_the_loop()
    {
        using var dir = new TempDir();
        using var loop = new EventLoop("disk");
        var disk = new LocalDisk(loop, dir.Path);
        var result = await loop.InvokeAsync(async () =>
        {
            await disk.CreateDirectoryAsync("d/e");
            await using (var file = await disk.CreateAsync("d/e/x.tmp"))
            {
                loop.AssertOnLoop("after create");
                await file.AppendAsync(new byte[] { 1, 2, 3 });
                await file.FsyncAsync();
                loop.AssertOnLoop("after fsync");
            }

            await disk.RenameAsync("d/e/x.tmp", "d/e/x");
            await disk.FsyncDirectoryAsync("d/e");
            loop.AssertOnLoop("after directory fsync");
            var buffer = new byte[8];
            var read = await disk.ReadAsync("d/e/x", 0, buffer);
            var entries = await disk.ListAsync("d/e");
            return (read, buffer[2], entries.Single().Name, await disk.GetLengthAsync("d/e/missing"));
        });
        Assert.Equal((3, (byte)3, "x", (long?)null), result);
    }

    [Fact]
    public async Task Frames_round_trip_over_tcp_and_oversized_ones_are_refused()
    {
        using var loop = new EventLoop("tcp");
        var counters = new TransportCounters();
        using var network = new TcpStreamNetwork(loop, counters, new IPEndPoint(IPAddress.Loopback, 0));
        var accepted = await AcceptFirstAsync(loop, network);
        var echoed = await loop.InvokeAsync(async () =>
        {
            using var client = await network.ConnectAsync(network.LocalAddress);
            var server = await accepted;
            var big = new byte[TcpStreamNetwork.FrameBytesMax];
            big[^1] = 42;
            await client.SendAsync(new byte[] { 7 });
            await client.SendAsync(big);
            Assert.Throws<ArgumentException>(() =>
            {
                _ = client.SendAsync(new byte[TcpStreamNetwork.FrameBytesMax + 1]);
            });
            var first = await server.ReceiveAsync();
            var second = await server.ReceiveAsync();
            loop.AssertOnLoop("after receive");
            client.Dispose();
            var end = await server.ReceiveAsync();
            server.Dispose();
            return (first!.Value.Span[0], second!.Value.Length, second.Value.Span[^1], end is null);
        }).WaitAsync(Timeout);
        Assert.Equal(((byte)7, TcpStreamNetwork.FrameBytesMax, (byte)42, true), echoed);
    }

    /// <summary>
    /// The simulator's contract (SimStreamTests.Closing_an_end_fails_its_pending_receive_and_every_later_one): closing
    /// an end fails a receive pending on it. The socket's shutdown ended such a read as a clean end of stream (null)
    /// or, when the cancel came first, as a broken one: the serving loop of an evicted connection saw either.
    /// </summary>
    [Fact]
    public async Task Closing_an_end_fails_its_pending_receive_and_every_later_one()
    {
        using var loop = new EventLoop("tcp");
        using var network = new TcpStreamNetwork(loop, new TransportCounters(), new IPEndPoint(IPAddress.Loopback, 0));
        var accepted = await AcceptFirstAsync(loop, network);
        var (pending, later, peerSaw) = await loop.InvokeAsync(async () =>
        {
            using var client = await network.ConnectAsync(network.LocalAddress);
            var server = await accepted;
            var receive = server.ReceiveAsync();
            server.Dispose();
            var first = await Assert.ThrowsAsync<StreamBrokenException>(() => receive);
            var second = await Assert.ThrowsAsync<StreamBrokenException>(() => server.ReceiveAsync());
            return (first, second, await client.ReceiveAsync());
        }).WaitAsync(Timeout);
        Assert.Contains("closed", pending.Message, StringComparison.Ordinal);
        Assert.Contains("closed", later.Message, StringComparison.Ordinal);
        Assert.Null(peerSaw); // The peer sees the close as a clean end of stream.
    }

    /// <summary>
    /// The seam's contract, and the simulator's (SimStreams refuses a connect to a node without an acceptor): until
    /// core sets its acceptor, a connect is refused. The listener took connections from its construction and the host
    /// closed them unread while core recovered its store, so a peer's connect succeeded and its first receive saw a
    /// clean end of stream (SWIM counted a malformed push-pull reply). An accepted end names the peer's host and the
    /// ephemeral port it connected from, not the peer's listening address.
    /// </summary>
    [Fact]
    public async Task A_connect_before_the_acceptor_is_set_is_refused()
    {
        using var loop = new EventLoop("tcp");
        using var network = new TcpStreamNetwork(loop, new TransportCounters(), new IPEndPoint(IPAddress.Loopback, 0));
        var early = await Assert.ThrowsAsync<StreamBrokenException>(() =>
            loop.InvokeAsync(() => network.ConnectAsync(network.LocalAddress)).WaitAsync(Timeout));
        Assert.Contains("ConnectionRefused", early.Message, StringComparison.Ordinal);

        var accepted = await AcceptFirstAsync(loop, network);
        var remote = await loop.InvokeAsync(async () =>
        {
            using var client = await network.ConnectAsync(network.LocalAddress);
            using var server = await accepted;
            return server.Remote;
        }).WaitAsync(Timeout);
        Assert.Equal("127.0.0.1", remote.Host);
        Assert.NotEqual(network.LocalAddress.Port, remote.Port);
    }

    /// <summary>
    /// The simulator fails a send on a closed end at once (SimStreams End.SendAsync), and frames handed over before
    /// the close still arrive. The real end checked only the close's cancel, which Dispose sets once those earlier
    /// frames have left: while they were queued behind a peer that did not read, a send after Dispose was taken and
    /// queued too, and reached the peer before the shutdown (three runs of three without the fix).
    /// </summary>
    [Fact]
    public async Task A_send_after_close_fails_at_once_and_never_reaches_the_peer()
    {
        using var loop = new EventLoop("tcp");
        using var network = new TcpStreamNetwork(loop, new TransportCounters(), new IPEndPoint(IPAddress.Loopback, 0));
        var accepted = await AcceptFirstAsync(loop, network);
        const int Frames = 32; // 32 MiB: more than loopback's socket buffers hold while the peer does not read.
        var (failedAtOnce, failure, received, end) = await loop.InvokeAsync(async () =>
        {
            var client = await network.ConnectAsync(network.LocalAddress);
            using var server = await accepted;
            var queued = Enumerable.Range(0, Frames)
                .Select(_ => client.SendAsync(new byte[TcpStreamNetwork.FrameBytesMax])).ToList();
            client.Dispose();
            var late = client.SendAsync(new byte[] { 9 });
            var atOnce = late.IsFaulted;
            var count = 0;
            ReadOnlyMemory<byte>? frame;
            while ((frame = await server.ReceiveAsync()) is { Length: TcpStreamNetwork.FrameBytesMax })
            {
                count++;
            }

            await Task.WhenAll(queued);
            return (atOnce, await Record.ExceptionAsync(() => late), count, frame);
        }).WaitAsync(Timeout);
        Assert.Equal(Frames, received); // The frames handed over before the close all arrived...
        Assert.Null(end); // ...then the close, and nothing sent after it.
        Assert.True(failedAtOnce, "a send on a closed end fails before it returns");
        Assert.IsType<StreamBrokenException>(failure);
    }

    /// <summary>
    /// What the simulator models (SimStreamTests.Sending_to_a_closed_end_breaks_the_connection_a_round_trip_later): a
    /// peer's close reads as a clean end, and a frame sent to the closed socket is answered with a reset, so the
    /// sends after it fail. The simulated closed end discarded what arrived and the sender's sends went on
    /// succeeding: a server could stream a whole chunk to a client that had given up.
    /// </summary>
    [Fact]
    public async Task Sending_to_a_closed_end_breaks_the_connection()
    {
        using var loop = new EventLoop("tcp");
        using var network = new TcpStreamNetwork(loop, new TransportCounters(), new IPEndPoint(IPAddress.Loopback, 0));
        var accepted = await AcceptFirstAsync(loop, network);
        var (end, sendsBeforeFailure, failure) = await loop.InvokeAsync(async () =>
        {
            using var client = await network.ConnectAsync(network.LocalAddress);
            var server = await accepted;
            server.Dispose();
            var end = await client.ReceiveAsync();
            for (var sends = 0; sends < 1000; sends++)
            {
                var failed = await Record.ExceptionAsync(() => client.SendAsync(new byte[] { 1 }));
                if (failed is not null)
                {
                    return (end, sends, failed);
                }
            }

            return (end, 1000, (Exception?)null);
        }).WaitAsync(Timeout);
        Assert.Null(end);
        Assert.IsType<StreamBrokenException>(failure);
        Assert.InRange(sendsBeforeFailure, 1, 999); // The first goes out; the reset fails a later one.
    }

    [Fact]
    public async Task A_refused_connect_is_a_broken_stream()
    {
        using var loop = new EventLoop("tcp");
        using var network = new TcpStreamNetwork(loop, new TransportCounters(), new IPEndPoint(IPAddress.Loopback, 0));
        var closedPort = Ports.Free();
        await Assert.ThrowsAsync<StreamBrokenException>(() =>
            loop.InvokeAsync(() => network.ConnectAsync(new NetAddress("127.0.0.1", closedPort))).WaitAsync(Timeout));
    }

    [Fact]
    public async Task Seam_callbacks_assert_they_run_on_the_loop()
    {
        using var loop = new EventLoop("assert");
        using var udp = new UdpDatagramNetwork(loop, new TransportCounters(), new IPEndPoint(IPAddress.Loopback, 0));
        Assert.Throws<InvalidOperationException>(() => udp.SetReceiver((_, _) => { }));
        var clock = new SystemClock(loop);
        var fired = await loop.InvokeAsync(async () =>
        {
            await clock.DelayAsync(1_000);
            return loop.IsOnLoop;
        }).WaitAsync(Timeout);
        Assert.True(fired, "a timer continuation runs on the loop");
    }

    /// <summary>Sets <paramref name="network"/>'s acceptor (on its loop, where it must run): the first connection
    /// accepted completes the returned task.</summary>
    private static async Task<Task<IStreamConnection>> AcceptFirstAsync(EventLoop loop, TcpStreamNetwork network)
    {
        var accepted = new TaskCompletionSource<IStreamConnection>(TaskCreationOptions.RunContinuationsAsynchronously);
        await loop.InvokeAsync(() =>
        {
            network.SetAcceptor(c =>
            {
                loop.AssertOnLoop("acceptor");
                accepted.TrySetResult(c);
            });
            return true;
        });
        return accepted.Task;
    }
}
